import { type GradeResult } from "@backend-labs/grade-result";
import { gradeScore } from "@backend-labs/grade-score";

/** results.json: the grade result, with its score (0 to 1) and each task's share after the status. */
export function jsonReport(result: GradeResult): string {
  const { score, tasks } = gradeScore(result);
  const { version, status, ...rest } = result;
  return `${JSON.stringify({ version, status, score, task_scores: tasks, ...rest }, null, 2)}\n`;
}
