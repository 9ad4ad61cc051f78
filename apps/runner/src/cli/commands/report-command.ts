import { readFileSync, writeFileSync } from "node:fs";
import { type GradeResult, gradeResultSchema } from "@backend-labs/grade-result";
import { renderReport, type ReportFormat } from "../../report/render-report.ts";
import { UsageError } from "../usage-error.ts";

export interface ReportOptions {
  format: ReportFormat;
  out?: string;
}

/**
 * `labs report <results.json>`: renders a saved result in another format, so a CI job grades once (JSON)
 * and still gets JUnit for its test tab and Markdown for its summary page.
 */
export function reportCommand(file: string, options: ReportOptions): GradeResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON: write it with \`labs grade --format json --out ${file}\``);
  }
  const parsed = gradeResultSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(
      `${file} is not a grade result (${issue.path.join(".") || "the top level"}: ${issue.message}); ` +
        "write it with `labs grade --format json`",
    );
  }
  const report = renderReport(parsed.data, options.format, !options.out && process.stdout.isTTY === true);
  if (options.out) writeFileSync(options.out, report);
  else process.stdout.write(report);
  return parsed.data;
}
