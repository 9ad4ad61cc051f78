import { inject } from "vitest";

/** Where the grader reaches one running copy of the learner's code. */
export interface LearnerEndpoint {
  id: string;
  /** Base URL of the harness that serves the learner module's exports. */
  rpcUrl: string;
  /** Base URL of the learner's own HTTP server, for labs whose entry starts one. */
  httpUrl: string | null;
}

/** What the runner hands a grader suite (through vitest's `provide`). */
export interface GradingContext {
  labId: string;
  callTimeoutMs: number;
  control: { url: string; token: string };
  /** adminUrl: superuser/default user. learnerUrl: the learner's own role/ACL user, dialled from here. */
  services: {
    postgres?: { adminUrl: string; learnerUrl: string };
    redis?: { adminUrl: string; learnerUrl: string };
    /** hostAliases: broker host -> address to dial, for a broker that advertises its grade-network name. */
    kafka?: { brokers: string[]; hostAliases: Record<string, string> };
  };
  learner: LearnerEndpoint;
}

export const gradingContextKey = "backendLabs";

declare module "vitest" {
  export interface ProvidedContext {
    backendLabs: GradingContext;
  }
  /** What the learner's code printed during a test, attached by vitest-setup.ts. */
  export interface TaskMeta {
    learnerOutput?: string;
  }
}

export function gradingContext(): GradingContext {
  const context = inject(gradingContextKey);
  if (!context) {
    throw new Error(
      "No grading context: grader suites run through the runner (`pnpm labs grade`), not plain vitest.",
    );
  }
  return context;
}
