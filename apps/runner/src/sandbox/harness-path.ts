import { fileURLToPath } from "node:url";

/** The harness that loads the learner's module and serves its exports to the grader (packages/graders). */
export const harnessPath = fileURLToPath(import.meta.resolve("@backend-labs/graders/learner-harness"));
