import { type GradeResult } from "@backend-labs/grade-result";

/** A result for a submission that could not be graded at all: no tests, no timings, the reason. */
export function errorGradeResult(labId: string, message: string): GradeResult {
  return {
    version: 3,
    status: "error",
    message,
    lab_id: labId,
    tests: [],
    timings: {
      validate_ms: 0,
      provision_ms: 0,
      typecheck_ms: 0,
      start_ms: 0,
      run_ms: 0,
      teardown_ms: 0,
      total_ms: 0,
    },
    services: {},
  };
}
