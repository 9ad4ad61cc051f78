import { createHash } from "node:crypto";
import { type GradeResult } from "@backend-labs/grade-result";
import { gradeScore, type TaskScore } from "@backend-labs/grade-score";
import { type Submission } from "../grade/submission.ts";

/** One submission's line in the gradebook. */
export interface GradebookRow {
  submission: string;
  status: GradeResult["status"];
  /** From 0 to 1, by the rule the web app and `labs grade` use. */
  score: number;
  tasks: TaskScore[];
  passed: number;
  failed: number;
  total: number;
  seconds: number;
  /** The first line of the grade's message (a compile error, a timeout...), or of the first failing test's. */
  message: string;
  /** sha256 of the lab files graded: a re-run skips a submission whose files did not change. */
  inputs: string;
}

export function gradebookRow(submission: string, inputs: string, result: GradeResult): GradebookRow {
  const passed = result.tests.filter((test) => test.status === "pass").length;
  const firstProblem = result.message ?? result.tests.find((test) => test.status !== "pass")?.message ?? "";
  const { score, tasks } = gradeScore(result);
  return {
    submission,
    status: result.status,
    score,
    tasks,
    passed,
    failed: result.tests.length - passed,
    total: result.tests.length,
    seconds: Math.round(result.timings.total_ms / 100) / 10,
    message: firstProblem.split("\n")[0]!.trim(),
    inputs,
  };
}

/** What was graded, as a hash: the submission's files and why any were unreadable. */
export function submissionInputs(submission: Submission): string {
  const hash = createHash("sha256");
  for (const [path, content] of [...submission.files].sort(([a], [b]) => a.localeCompare(b)))
    hash.update(`${path}\n`).update(content).update("\n");
  for (const { path, reason } of submission.unreadable) hash.update(`unreadable ${path}: ${reason}\n`);
  return `sha256:${hash.digest("hex")}`;
}

/**
 * RFC 4180 CSV: what spreadsheets and learning-management systems import. One `task_<n>` column per task of
 * the lab holds that task's score (empty where the grade ran none of its tests).
 */
export function gradebookCsv(rows: GradebookRow[], taskIds: number[]): string {
  const cell = (value: string | number) => {
    const text = String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const header = [
    "submission",
    "status",
    "score",
    "passed",
    "failed",
    "total",
    ...taskIds.map((id) => `task_${id}`),
    "seconds",
    "message",
  ];
  const line = (row: GradebookRow) => [
    row.submission,
    row.status,
    row.score,
    row.passed,
    row.failed,
    row.total,
    ...taskIds.map((id) => row.tasks.find((task) => task.task_id === id)?.score ?? ""),
    row.seconds,
    row.message,
  ];
  return [header, ...rows.map(line)].map((cells) => `${cells.map(cell).join(",")}\r\n`).join("");
}
