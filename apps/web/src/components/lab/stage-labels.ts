/** The steps a learner sees while a run is graded, in order, and the runner stages each one covers. */
export const runSteps = [
  { key: "queued", label: "Queued", stages: [] as string[] },
  { key: "services", label: "Starting services", stages: ["validate", "workspace", "provision"] },
  { key: "typecheck", label: "Type-checking", stages: ["typecheck"] },
  { key: "tests", label: "Running tests", stages: ["start", "run", "teardown"] },
  { key: "done", label: "Done", stages: [] as string[] },
] as const;

export type RunStepKey = (typeof runSteps)[number]["key"];

export function stepOfStage(stage: string): RunStepKey {
  return runSteps.find((step) => (step.stages as readonly string[]).includes(stage))?.key ?? "services";
}
