import type { Pool } from "pg";

/** How learners fare on one lab's tests: what an instructor reads to see where a lab is hard. */
export interface LabReport {
  /** Per grader test, the finished Runs it ran in and how many of them it failed, most failed first. */
  tests: { name: string; taskId: number | null; runs: number; failed: number }[];
  /** Per task, the same summed over its tests. */
  tasks: { taskId: number | null; runs: number; failed: number }[];
  /** Per learner who passed: on which of their Runs they first passed (1 = the first). */
  runsToFirstPass: number[];
  /** Learners with at least one Run, and those who passed. */
  learners: number;
  passedLearners: number;
}

export async function labReport(pool: Pool, labId: string): Promise<LabReport> {
  const [tests, attempts] = await Promise.all([
    pool.query<{ name: string; task_id: number | null; runs: number; failed: number }>(
      `select test->>'name' as name,
              (test->>'task_id')::int as task_id,
              count(*)::int as runs,
              (count(*) filter (where test->>'status' <> 'pass'))::int as failed
         from submissions, jsonb_array_elements(result->'tests') as test
        where lab_id = $1 and state = 'finished'
        group by 1, 2
        order by failed desc, name`,
      [labId],
    ),
    // Each learner's Runs in order; the number of the first passing one, if any.
    pool.query<{ first_pass: number | null }>(
      `select min(ordinal) filter (where result_status = 'pass')::int as first_pass
         from (select user_id, result_status,
                      row_number() over (partition by user_id order by created_at) as ordinal
                 from submissions where lab_id = $1) as runs
        group by user_id`,
      [labId],
    ),
  ]);
  const byTask = new Map<number | null, { taskId: number | null; runs: number; failed: number }>();
  for (const row of tests.rows) {
    const task = byTask.get(row.task_id) ?? { taskId: row.task_id, runs: 0, failed: 0 };
    task.runs += row.runs;
    task.failed += row.failed;
    byTask.set(row.task_id, task);
  }
  const runsToFirstPass = attempts.rows
    .map((row) => row.first_pass)
    .filter((ordinal) => ordinal !== null)
    .sort((a, b) => a - b);
  return {
    tests: tests.rows.map((row) => ({
      name: row.name,
      taskId: row.task_id,
      runs: row.runs,
      failed: row.failed,
    })),
    tasks: [...byTask.values()].sort((a, b) => (a.taskId ?? Infinity) - (b.taskId ?? Infinity)),
    runsToFirstPass,
    learners: attempts.rows.length,
    passedLearners: runsToFirstPass.length,
  };
}
