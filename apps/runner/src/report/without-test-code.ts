import { type GradeResult } from "@backend-labs/grade-result";

/**
 * The result with each test's source left out (an empty `test_code`): for reports a learner reads, such as
 * a student's CI log, which would otherwise show how the grader checks their work.
 */
export function withoutTestCode(result: GradeResult): GradeResult {
  return { ...result, tests: result.tests.map((test) => ({ ...test, test_code: "" })) };
}
