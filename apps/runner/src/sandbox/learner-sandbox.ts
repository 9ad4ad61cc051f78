/** How one copy of the learner's code ended. */
export interface CopyExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The copy was killed for exceeding its memory limit. */
  outOfMemory: boolean;
}

/** One running copy of the learner's code, however it is isolated. */
export interface LearnerCopy extends AsyncDisposable {
  /** The harness that serves the learner module's exports. */
  rpcUrl: string;
  /** Where the learner's own HTTP server listens (process.env.PORT), for labs that start one. */
  httpUrl: string;
  /** Undefined while the copy runs. */
  readonly exit: CopyExit | undefined;
  exited: Promise<void>;
  /** Signals every process of the copy (its children included). */
  signal(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
}

export interface LaunchRequest {
  /** learner-1, learner-2...: unique within the grade. */
  id: string;
  /** Service settings (DATABASE_URL...) and whatever the grader adds. */
  env: Record<string, string>;
  onOutput: (text: string) => void;
}

/** Starts copies of the learner's code: in a locked-down container, or (trusted code only) as a process. */
export interface LearnerSandbox {
  kind: "docker" | "process";
  launch(request: LaunchRequest): Promise<LearnerCopy>;
}

/** Ports the harness and the learner's server use inside a container (each copy has its own address). */
export const containerPorts = { rpc: 7070, http: 8080 } as const;
