import { type GradeResult } from "@backend-labs/grade-result";
import { gradeScore } from "@backend-labs/grade-score";
import { create } from "xmlbuilder2";

/** JUnit XML as CI systems read it: one testsuite per grade, a testcase per grader test. */
export function junitReport(result: GradeResult): string {
  const failures = result.tests.filter((test) => test.status === "fail").length;
  const errors =
    result.tests.filter((test) => test.status === "error").length +
    (result.tests.length === 0 && result.status === "error" ? 1 : 0);
  const root = create({ version: "1.0", encoding: "UTF-8" }).ele("testsuites", {
    name: "backend-labs",
    tests: Math.max(result.tests.length, 1),
    failures,
    errors,
    time: seconds(result.timings.total_ms),
  });
  const suite = root.ele("testsuite", {
    name: result.lab_id,
    tests: Math.max(result.tests.length, 1),
    failures,
    errors,
    time: seconds(result.timings.total_ms),
  });
  // JUnit has no score; a suite property is where CI dashboards and LMS importers look for extra figures.
  suite.ele("properties").ele("property", { name: "score", value: String(gradeScore(result).score) });
  if (result.tests.length === 0) {
    // A grade that stopped before its tests (compile error, crash) still shows up as one failing case.
    const testCase = suite.ele("testcase", {
      name: "grade",
      classname: result.lab_id,
      time: seconds(result.timings.total_ms),
    });
    if (result.status !== "pass")
      testCase
        .ele(result.status === "error" ? "error" : "failure", { message: firstLine(result.message) })
        .txt(result.message ?? "");
  }
  for (const test of result.tests) {
    const testCase = suite.ele("testcase", {
      name: test.name,
      classname: test.task_id === undefined ? result.lab_id : `${result.lab_id}.task-${test.task_id}`,
      time: seconds(test.duration_ms),
    });
    if (test.status !== "pass") {
      testCase
        .ele(test.status === "error" ? "error" : "failure", { message: firstLine(test.message) })
        .txt(test.message ?? "");
    }
    if (test.output) testCase.ele("system-out").txt(test.output);
  }
  return root.end({ prettyPrint: true }) + "\n";
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);
const firstLine = (text: string | undefined) => (text ?? "").split("\n")[0] ?? "";
