import type { GradingStage } from "@backend-labs/grade-result";

/** The steps a learner sees while a run is graded, in order, and the runner stages each one covers. */
export const runSteps = [
  { key: "queued", label: "Queued", stages: [] },
  { key: "services", label: "Starting services", stages: ["validate", "workspace", "provision"] },
  { key: "typecheck", label: "Type-checking", stages: ["typecheck"] },
  { key: "tests", label: "Running tests", stages: ["start", "run", "teardown"] },
  { key: "done", label: "Done", stages: [] },
] as const satisfies readonly { key: string; label: string; stages: readonly GradingStage[] }[];

export type RunStepKey = (typeof runSteps)[number]["key"];

export function stepOfStage(stage: GradingStage): RunStepKey {
  return runSteps.find((step) => (step.stages as readonly GradingStage[]).includes(stage))?.key ?? "services";
}
