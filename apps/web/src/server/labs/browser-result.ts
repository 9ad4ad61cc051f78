import { type GradeResult, gradeResultSchema } from "@backend-labs/grade-result";

/** A grade result as a browser may see it: without the grader's test code (hidden tests stay hidden). */
export type BrowserResult = Omit<GradeResult, "tests"> & {
  tests: Omit<GradeResult["tests"][number], "test_code">[];
};

export function browserResult(stored: unknown): BrowserResult | null {
  const parsed = gradeResultSchema.safeParse(stored);
  if (!parsed.success) return null;
  return {
    ...parsed.data,
    tests: parsed.data.tests.map(({ test_code: _hidden, ...test }) => test),
  };
}

export function testCounts(stored: unknown): { passed: number; total: number } | null {
  const result = browserResult(stored);
  if (!result) return null;
  return { passed: result.tests.filter((test) => test.status === "pass").length, total: result.tests.length };
}
