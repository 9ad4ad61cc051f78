import { createHash } from "node:crypto";
import { type GradeResult } from "@backend-labs/grade-result";
import { type Submission } from "../grade/submission.ts";

/** One submission's line in the gradebook. */
export interface GradebookRow {
  submission: string;
  status: GradeResult["status"];
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
  return {
    submission,
    status: result.status,
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

const csvColumns = ["submission", "status", "passed", "failed", "total", "seconds", "message"] as const;

/** RFC 4180 CSV: what spreadsheets and learning-management systems import. */
export function gradebookCsv(rows: GradebookRow[]): string {
  const cell = (value: string | number) => {
    const text = String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [csvColumns.join(","), ...rows.map((row) => csvColumns.map((column) => cell(row[column])).join(","))]
    .map((line) => `${line}\r\n`)
    .join("");
}
