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
  /** Mutation testing's baseline run: record which mutants each test reaches (see vitest-setup.ts). */
  collectMutantCoverage?: boolean;
}

export const gradingContextKey = "backendLabs";

declare module "vitest" {
  export interface ProvidedContext {
    backendLabs: GradingContext;
  }
  /** What the learner's code printed during a test, attached by vitest-setup.ts. */
  export interface TaskMeta {
    learnerOutput?: string;
    /** Mutants whose code the learner's copies ran during the test (mutation testing's baseline). */
    mutantsCovered?: string[];
    /** ...and between the previous test and this one: imports, a copy's start, a previous test's tail. */
    mutantsCoveredBefore?: string[];
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
