import { z } from "zod";

/**
 * The result of grading one submission: Exercism's results.json version 3
 * (https://exercism.org/docs/building/tooling/test-runners/interface) plus lab id, per-test durations,
 * stage timings and the versions of the services used. Field names follow Exercism's snake_case.
 */
export const gradeStatus = z.enum(["pass", "fail", "error"]);
export type GradeStatus = z.infer<typeof gradeStatus>;

export const testResultSchema = z.object({
  name: z.string(),
  status: gradeStatus,
  message: z.string().optional(),
  output: z.string().optional(),
  test_code: z.string(),
  task_id: z.number().int().optional(),
  duration_ms: z.number().nonnegative(),
});
export type TestResult = z.infer<typeof testResultSchema>;

/**
 * How long each stage took. Provisioning (handing out the services) and type-checking run at the same
 * time, so the stages may add up to more than the total. Teardown happens after the result is reported,
 * so only results from before that change carry `teardown_ms`. `pool` says whether the grade's services
 * and learner containers were ready ahead of it ("hit"), started for it ("miss"), or not pooled ("off").
 */
export const stageTimingsSchema = z.object({
  validate_ms: z.number().nonnegative(),
  provision_ms: z.number().nonnegative(),
  typecheck_ms: z.number().nonnegative(),
  start_ms: z.number().nonnegative(),
  run_ms: z.number().nonnegative(),
  teardown_ms: z.number().nonnegative().optional(),
  total_ms: z.number().nonnegative(),
  pool: z.enum(["hit", "miss", "off"]).optional(),
});
export type StageTimings = z.infer<typeof stageTimingsSchema>;

export const gradeResultSchema = z.object({
  version: z.literal(3),
  status: gradeStatus,
  message: z.string().optional(),
  lab_id: z.string(),
  tests: z.array(testResultSchema),
  timings: stageTimingsSchema,
  services: z.record(z.string(), z.object({ image: z.string(), version: z.string() })),
});
export type GradeResult = z.infer<typeof gradeResultSchema>;

/** A result for a grade that stopped before any test ran (invalid submission, type errors, a crash...). */
export function errorGradeResult(
  labId: string,
  message: string,
  parts: Pick<GradeResult, "timings" | "services"> = {
    timings: { validate_ms: 0, provision_ms: 0, typecheck_ms: 0, start_ms: 0, run_ms: 0, total_ms: 0 },
    services: {},
  },
): GradeResult {
  return { version: 3, status: "error", message, lab_id: labId, tests: [], ...parts };
}
