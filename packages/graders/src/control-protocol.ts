import { type LearnerEndpoint } from "./grading-context.ts";

/**
 * The runner's control API, which grader suites call to start and stop copies of the learner's code.
 * Process and container lifecycles stay in the runner; graders only ask.
 */
export interface StartLearnerRequest {
  /** Extra environment for this copy, e.g. an instance name. Connection settings are always provided. */
  env?: Record<string, string>;
}
export type StartLearnerResponse = LearnerEndpoint;

export interface StopLearnerRequest {
  signal: "SIGTERM" | "SIGKILL";
  /** With SIGTERM: how long to wait before SIGKILL. */
  graceMs?: number;
}

export interface LearnerStatus {
  running: boolean;
  exitCode: number | null;
  signal: string | null;
  /** It was killed for going over its memory limit (memoryLimitMb). */
  outOfMemory: boolean;
  memoryLimitMb: number;
  /** Why the runner stopped it, when it did. */
  stoppedBecause: "requested" | "hung" | null;
  /** For a copy that hung: what the runner saw that explains it (e.g. every pool connection checked out). */
  hangDiagnosis?: string;
}

export interface OutputResponse {
  cursor: number;
  text: string;
}

export interface HungReport {
  fn: string;
  timeoutMs: number;
}

export const controlRoutes = {
  learners: "/learners",
  learner: (id: string) => `/learners/${encodeURIComponent(id)}`,
  stop: (id: string) => `/learners/${encodeURIComponent(id)}/stop`,
  hung: (id: string) => `/learners/${encodeURIComponent(id)}/hung`,
  output: "/output",
  mutantCoverage: "/mutant-coverage",
} as const;
