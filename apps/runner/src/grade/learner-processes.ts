import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type LearnerStatus } from "@backend-labs/graders/control-protocol";
import { type LearnerEndpoint } from "@backend-labs/graders/grading-context";
import getPort from "get-port";
import { LearnerOutputLog } from "./learner-output-log.ts";

const harnessPath = fileURLToPath(import.meta.resolve("@backend-labs/graders/learner-harness"));
const importFailedExitCode = 70;
/** Node's exit code when the event loop empties while a top-level await is still pending. */
const unsettledTopLevelAwaitExitCode = 13;

export interface LearnerProcessSettings {
  /** Put on each process's command line, so `ps` shows which grade a learner process belongs to. */
  gradeId: string;
  workspaceDir: string;
  entry: string;
  http: boolean;
  /** Connection settings for the lab's services. */
  serviceEnv: Record<string, string>;
  startTimeoutMs: number;
  memoryLimitMb: number;
}

/** Why a copy of the learner's code did not come up; becomes the grade's `error` message. */
export class LearnerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LearnerStartError";
  }
}

interface LearnerProcess {
  endpoint: LearnerEndpoint;
  child: ChildProcess;
  exited: Promise<void>;
  stoppedBecause: LearnerStatus["stoppedBecause"];
  hungIn?: string;
}

/**
 * Stage 5: the learner's code, each copy in its own process group with a scrubbed environment. The runner
 * owns these processes; grader suites ask for them through the control server.
 */
export class LearnerProcesses implements AsyncDisposable {
  readonly output = new LearnerOutputLog();
  private readonly processes = new Map<string, LearnerProcess>();
  private readonly settings: LearnerProcessSettings;
  private nextId = 1;

  constructor(settings: LearnerProcessSettings) {
    this.settings = settings;
  }

  /** The first call to a copy that hung, if any: the grade then ends as `error`. */
  get hang(): { learnerId: string; what: string } | undefined {
    for (const [learnerId, process] of this.processes) {
      if (process.hungIn) return { learnerId, what: process.hungIn };
    }
    return undefined;
  }

  async start(extraEnv: Record<string, string> = {}): Promise<LearnerEndpoint> {
    const id = `learner-${this.nextId++}`;
    const [rpcPort, httpPort] = [await getPort({ host: "127.0.0.1" }), await getPort({ host: "127.0.0.1" })];
    const { workspaceDir, entry, serviceEnv, memoryLimitMb } = this.settings;
    const child = spawn(
      process.execPath,
      [
        `--max-old-space-size=${memoryLimitMb}`,
        "--disable-warning=ExperimentalWarning",
        harnessPath,
        entry,
        `grade=${this.settings.gradeId}`,
      ],
      {
        cwd: workspaceDir,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...extraEnv,
          ...serviceEnv,
          PATH: "/usr/local/bin:/usr/bin:/bin",
          HOME: workspaceDir,
          TZ: "UTC",
          NODE_ENV: "production",
          PORT: String(httpPort),
          BACKEND_LABS_RPC_PORT: String(rpcPort),
        },
      },
    );
    child.stdout.setEncoding("utf8").on("data", (text: string) => this.output.append(id, text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => this.output.append(id, text));
    const exited = once(child, "exit").then(() => undefined);
    const endpoint: LearnerEndpoint = {
      id,
      rpcUrl: `http://127.0.0.1:${rpcPort}`,
      httpUrl: this.settings.http ? `http://127.0.0.1:${httpPort}` : null,
    };
    this.processes.set(id, { endpoint, child, exited, stoppedBecause: null });
    await this.waitUntilReady(id, httpPort);
    return endpoint;
  }

  private async waitUntilReady(id: string, httpPort: number): Promise<void> {
    const learner = this.get(id);
    const deadline = Date.now() + this.settings.startTimeoutMs;
    let rpcReady = false;
    let httpReady = !this.settings.http;
    while (Date.now() < deadline) {
      if (learner.child.exitCode !== null || learner.child.signalCode !== null) {
        await learner.exited;
        throw new LearnerStartError(this.describeEarlyExit(id));
      }
      rpcReady ||= await answers(`${learner.endpoint.rpcUrl}/exports`);
      httpReady ||= await acceptsConnections(httpPort);
      if (rpcReady && httpReady) return;
      await sleep(50);
    }
    const seconds = this.settings.startTimeoutMs / 1000;
    await this.stop(id, "SIGKILL", 0, "hung");
    throw new LearnerStartError(
      this.settings.http && rpcReady
        ? `Your code timed out after ${seconds} s while starting: it never listened on process.env.PORT`
        : `Your code timed out after ${seconds} s while starting: is there a loop or an await at the top level that never ends?`,
    );
  }

  private describeEarlyExit(id: string): string {
    const { child } = this.get(id);
    const printed = this.output.since(0, id).trim();
    const tail = printed ? `\n${printed.split("\n").slice(-12).join("\n")}` : "";
    if (child.exitCode === importFailedExitCode)
      return `Your code crashed while starting (it threw on import):${tail}`;
    if (child.exitCode === unsettledTopLevelAwaitExitCode) {
      return "Your code never finished starting: a top-level `await` waits on a promise that can never settle.";
    }
    const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
    return `Your code ${how} while starting, before the grader could call it.${tail}`;
  }

  async exportedFunctions(id: string): Promise<string[]> {
    const response = await fetch(`${this.get(id).endpoint.rpcUrl}/exports`);
    return (await response.json()) as string[];
  }

  status(id: string): LearnerStatus {
    const { child, stoppedBecause } = this.get(id);
    const running = child.exitCode === null && child.signalCode === null;
    return { running, exitCode: child.exitCode, signal: child.signalCode, stoppedBecause };
  }

  markHung(id: string, what: string): Promise<LearnerStatus> {
    this.get(id).hungIn ??= what;
    return this.stop(id, "SIGKILL", 0, "hung");
  }

  async stop(
    id: string,
    signal: "SIGTERM" | "SIGKILL",
    graceMs: number,
    because: NonNullable<LearnerStatus["stoppedBecause"]> = "requested",
  ): Promise<LearnerStatus> {
    const learner = this.get(id);
    if (this.status(id).running) {
      learner.stoppedBecause ??= because;
      killGroup(learner.child, signal);
      if (signal === "SIGTERM") {
        const forced = setTimeout(() => killGroup(learner.child, "SIGKILL"), graceMs);
        await learner.exited;
        clearTimeout(forced);
      } else {
        await learner.exited;
      }
    }
    // Children the learner's code spawned live on in the group after its leader exits.
    killGroup(learner.child, "SIGKILL");
    return this.status(id);
  }

  has(id: string): boolean {
    return this.processes.has(id);
  }

  private get(id: string): LearnerProcess {
    const learner = this.processes.get(id);
    if (!learner) throw new Error(`no learner process ${id}`);
    return learner;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.processes.keys()].map((id) => this.stop(id, "SIGKILL", 0)));
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(500) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
