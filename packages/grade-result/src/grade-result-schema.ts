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

export const stageTimingsSchema = z.object({
  validate_ms: z.number().nonnegative(),
  provision_ms: z.number().nonnegative(),
  typecheck_ms: z.number().nonnegative(),
  start_ms: z.number().nonnegative(),
  run_ms: z.number().nonnegative(),
  teardown_ms: z.number().nonnegative(),
  total_ms: z.number().nonnegative(),
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
