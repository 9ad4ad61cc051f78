import { existsSync, statSync, writeFileSync } from "node:fs";
import { type GradeResult } from "@backend-labs/grade-result";
import { type Lab } from "@backend-labs/lab-format";
import { gradeSubmission, type SandboxKind } from "../../grade/grade-submission.ts";
import { type GradingRuntime } from "../../grade/grading-runtime.ts";
import { readSubmissionDir } from "../../grade/submission.ts";
import { renderReport, type ReportFormat } from "../../report/render-report.ts";
import { progressPrinter } from "../progress-printer.ts";
import { UsageError } from "../usage-error.ts";

export interface GradeOptions {
  format: ReportFormat;
  out?: string;
  sandbox: SandboxKind;
}

export async function gradeCommand(
  lab: Lab,
  dir: string,
  runtime: GradingRuntime,
  options: GradeOptions,
): Promise<GradeResult> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`submission folder not found: ${dir}`);
  const result = await gradeSubmission({
    lab,
    submission: readSubmissionDir(dir),
    runtime,
    onProgress: progressPrinter(lab.manifest.id),
    sandbox: options.sandbox,
  });
  const report = renderReport(result, options.format, !options.out && process.stdout.isTTY === true);
  if (options.out) writeFileSync(options.out, report);
  else process.stdout.write(report);
  return result;
}
