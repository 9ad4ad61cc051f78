import type { GradeResult } from "@backend-labs/grade-result";

/** One task's share of a grade: the tests of one `Task n:` group of the grader. */
export interface TaskScore {
  /** The task's number; `null` groups the tests that belong to no task. */
  task_id: number | null;
  passed: number;
  total: number;
  /** `passed / total`, or 0 when the grade ended in an error. */
  score: number;
}

export interface GradeScore {
  /** From 0 to 1: the mean of the task scores, each task weighing the same. */
  score: number;
  tasks: TaskScore[];
}

/**
 * A grade's score, the one rule the web app, `labs grade`, `labs submit` and gradebooks all use:
 * - each task whose tests ran weighs the same and scores the share of its tests that passed;
 * - a grade with status `error` (a compile error, a time-out, a crash) scores 0, because its tests did not
 *   all run and the ones that did cannot stand for the rest;
 * - a grade in which no test ran scores 0.
 * A `pass` therefore always scores 1. Scores are rounded to 4 decimals, so 2/3 reads the same everywhere.
 */
export function gradeScore(result: Pick<GradeResult, "status" | "tests">): GradeScore {
  const groups = new Map<number | null, { passed: number; total: number }>();
  for (const test of result.tests) {
    const taskId = test.task_id ?? null;
    const group = groups.get(taskId) ?? { passed: 0, total: 0 };
    group.total += 1;
    if (test.status === "pass") group.passed += 1;
    groups.set(taskId, group);
  }
  const finished = result.status !== "error";
  const tasks = [...groups]
    .sort(([a], [b]) => (a ?? Infinity) - (b ?? Infinity))
    .map(([taskId, { passed, total }]) => ({
      task_id: taskId,
      passed,
      total,
      score: finished ? rounded(passed / total) : 0,
    }));
  const score =
    tasks.length === 0 ? 0 : rounded(tasks.reduce((sum, task) => sum + task.score, 0) / tasks.length);
  return { score, tasks };
}

/** A score as people read it: "62.5 %", "100 %". */
export function scorePercent(score: number): string {
  return `${Math.round(score * 1000) / 10} %`;
}

function rounded(fraction: number): number {
  return Math.round(fraction * 10_000) / 10_000;
}
