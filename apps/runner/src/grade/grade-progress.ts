import { type GradeStatus } from "@backend-labs/grade-result";

export type GradeStage = "validate" | "workspace" | "provision" | "typecheck" | "start" | "run" | "teardown";

/** What a long grade reports while it works: the CLI prints these to stderr, the web app streams them. */
export type GradeProgress =
  | { type: "stage"; stage: GradeStage; detail?: string }
  | {
      type: "test";
      name: string;
      status: GradeStatus;
      durationMs: number;
      /** Why it failed: the assertion's teaching message (the result carries the same text). */
      message?: string;
      taskId?: number;
    };

export type ProgressListener = (event: GradeProgress) => void;
