import { type GradeResult } from "@backend-labs/grade-result";
import { jsonReport } from "./json-report.ts";
import { junitReport } from "./junit-report.ts";
import { markdownReport } from "./markdown-report.ts";
import { prettyReport } from "./pretty-report.ts";

export const reportFormats = ["json", "junit", "markdown", "pretty"] as const;
export type ReportFormat = (typeof reportFormats)[number];

export function renderReport(result: GradeResult, format: ReportFormat, useColor: boolean): string {
  if (format === "json") return jsonReport(result);
  if (format === "junit") return junitReport(result);
  if (format === "markdown") return markdownReport(result);
  return prettyReport(result, useColor);
}
