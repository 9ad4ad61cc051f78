import { existsSync, statSync, writeFileSync } from "node:fs";
import { type GradeResult } from "@backend-labs/grade-result";
import { resolve } from "node:path";
import { type Catalog, type Lab } from "@backend-labs/lab-format";
import { findLab } from "../../catalog/labs-catalog.ts";
import { gradeSubmission, type SandboxKind } from "../../grade/grade-submission.ts";
import { type GradingRuntime } from "../../grade/grading-runtime.ts";
import { changesSince, markerFile, readMarker } from "../../learner-folder/learner-folder-marker.ts";
import { readLabSubmission } from "../../learner-folder/read-learner-folder.ts";
import { renderReport, type ReportFormat } from "../../report/render-report.ts";
import { withoutTestCode } from "../../report/without-test-code.ts";
import { progressPrinter } from "../progress-printer.ts";
import { UsageError } from "../usage-error.ts";

export interface GradeOptions {
  format: ReportFormat;
  out?: string;
  sandbox: SandboxKind;
  /** Keep each test's source in the JSON report (it shows learners how the grader works). */
  testCode: boolean;
}

export async function gradeCommand(
  lab: Lab,
  dir: string,
  runtime: GradingRuntime,
  options: GradeOptions,
): Promise<GradeResult> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`submission folder not found: ${dir}`);
  const { submission, ignored } = readLabSubmission(lab, dir);
  if (ignored.length > 0)
    process.stderr.write(
      `[${lab.manifest.id}] left out ${ignored.length} file(s) that are not part of the lab: ${ignored.join(", ")}\n`,
    );
  const result = await gradeSubmission({
    lab,
    submission,
    runtime,
    onProgress: progressPrinter(lab.manifest.id),
    sandbox: options.sandbox,
  });
  const report = renderReport(
    options.testCode ? result : withoutTestCode(result),
    options.format,
    !options.out && process.stdout.isTTY === true,
  );
  if (options.out) writeFileSync(options.out, report);
  else process.stdout.write(report);
  return result;
}

/**
 * `labs grade [lab-id] [dir]`: with no lab id, the folder's backend-lab.json names it; with one argument,
 * a known lab id grades the current folder and anything else is the folder. A folder started for another
 * lab, or from another version of this one, is said so.
 */
export function gradeTarget(
  catalog: Catalog,
  first: string | undefined,
  second: string | undefined,
): { lab: Lab; dir: string; warnings: string[] } {
  const namesLab = (id: string) => catalog.labs.some((lab) => lab.manifest.id === id);
  const [labId, dir] =
    second !== undefined
      ? [first, second]
      : first !== undefined && namesLab(first)
        ? [first, "."]
        : [undefined, first ?? "."];
  const marker = existsSync(dir) ? readMarker(dir) : undefined;
  if (labId === undefined && !marker)
    throw new UsageError(
      `${resolve(dir)} has no ${markerFile}: name the lab (\`labs grade <lab-id> [dir]\`), or start a folder with \`labs start <lab-id> [dir]\``,
    );
  if (labId !== undefined && marker && marker.lab !== labId)
    throw new UsageError(
      `${resolve(dir)} was started for the lab ${marker.lab} (${markerFile}), not ${labId}`,
    );
  const lab = findLab(catalog, labId ?? marker!.lab);
  const changes = marker ? changesSince(marker, lab) : [];
  const warnings =
    changes.length > 0
      ? [
          `this folder was started from another version of ${lab.manifest.id}: ${changes.join("; ")}. ` +
            `\`labs start ${lab.manifest.id} --force\` brings the new version (it overwrites your files: commit or copy them first)`,
        ]
      : [];
  return { lab, dir, warnings };
}
