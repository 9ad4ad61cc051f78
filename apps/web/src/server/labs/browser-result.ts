import { type GradeResult, gradeResultSchema } from "@backend-labs/grade-result";
import { gradeScore, type TaskScore } from "@backend-labs/grade-score";

/**
 * A grade result as a browser may see it: without the grader's test code (hidden tests stay hidden), with
 * its score by the rule `labs grade` and gradebooks use.
 */
export type BrowserResult = Omit<GradeResult, "tests"> & {
  tests: Omit<GradeResult["tests"][number], "test_code">[];
  score: number;
  task_scores: TaskScore[];
};

export function browserResult(stored: unknown): BrowserResult | null {
  const parsed = gradeResultSchema.safeParse(stored);
  if (!parsed.success) return null;
  const { score, tasks } = gradeScore(parsed.data);
  return {
    ...parsed.data,
    tests: parsed.data.tests.map(({ test_code: _hidden, ...test }) => test),
    score,
    task_scores: tasks,
  };
}

export function testCounts(stored: unknown): { passed: number; total: number; score: number } | null {
  const result = browserResult(stored);
  if (!result) return null;
  return {
    passed: result.tests.filter((test) => test.status === "pass").length,
    total: result.tests.length,
    score: result.score,
  };
}
