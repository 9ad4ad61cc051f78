import {
  capOutput,
  type GradeResult,
  type GradeStatus,
  type StageTimings,
  type TestResult,
} from "@backend-labs/grade-result";
import { extractTestCode } from "./extract-test-code.ts";
import { type SuiteOutcome } from "../suites/run-grader-suite.ts";

export interface ResultParts {
  labId: string;
  timings: StageTimings;
  services: GradeResult["services"];
}

/** Stage 7: the result of a grade whose suite ran. */
export function buildResult(
  parts: ResultParts,
  suite: SuiteOutcome,
  hangMessage: string | undefined,
): GradeResult {
  const tests: TestResult[] = suite.tests.map((test) => ({
    name: test.name,
    status: test.status,
    ...(test.message !== undefined && { message: test.message }),
    ...(test.output !== undefined && { output: capOutput(test.output) }),
    test_code: extractTestCode(test.file, test.line, test.column),
    ...(test.taskId !== undefined && { task_id: test.taskId }),
    duration_ms: test.durationMs,
  }));
  const { status, message } = overallStatus(tests, suite, hangMessage);
  return {
    version: 3,
    status,
    ...(message !== undefined && { message }),
    lab_id: parts.labId,
    tests,
    timings: parts.timings,
    services: parts.services,
  };
}

function overallStatus(
  tests: TestResult[],
  suite: SuiteOutcome,
  hangMessage: string | undefined,
): { status: GradeStatus; message?: string } {
  if (hangMessage) return { status: "error", message: hangMessage };
  if (suite.suiteErrors.length > 0) {
    return { status: "error", message: `The grader suite could not run:\n${suite.suiteErrors.join("\n")}` };
  }
  if (tests.length === 0) return { status: "fail", message: "No tests ran." };
  const failed = tests.filter((test) => test.status !== "pass").length;
  if (failed === 0) return { status: "pass" };
  return { status: "fail", message: `${failed} of ${tests.length} tests failed.` };
}
