import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errorGradeResult, type GradeResult } from "@backend-labs/grade-result";
import { type Lab } from "@backend-labs/lab-format";
import { type BatchSubmission, batchSubmissions } from "../../batch/batch-folder.ts";
import { gradebookCsv, type GradebookRow, gradebookRow, submissionInputs } from "../../batch/gradebook.ts";
import { forEachInParallel } from "../../grade/for-each-in-parallel.ts";
import { gradeSubmission, type SandboxKind } from "../../grade/grade-submission.ts";
import { type GradingRuntime } from "../../grade/grading-runtime.ts";
import { LearnerFolderError } from "../../learner-folder/learner-folder-error.ts";
import { readLabSubmission } from "../../learner-folder/read-learner-folder.ts";
import { jsonReport } from "../../report/json-report.ts";
import { withoutTestCode } from "../../report/without-test-code.ts";

export interface GradeBatchOptions {
  jobs: number;
  /** Where each submission's result (<name>.json) and the gradebook go. */
  out: string;
  /** Grade again submissions whose files did not change since the last run into `out`. */
  force: boolean;
  sandbox: SandboxKind;
  /** Keep each test's source in the results (the instructor's copy: the default). */
  testCode: boolean;
}

export const gradebookFiles = { json: "gradebook.json", csv: "gradebook.csv" } as const;

/**
 * `labs grade-batch`: grades every submission folder of `folder` against `lab`, `jobs` at a time, writing
 * each full result (test_code included unless `testCode` is off: the instructor's copy) and a gradebook in
 * CSV and JSON.
 * A learner's mistake, an unusable folder included, is a row with its status. So is the runner's own
 * trouble with one submission, which the next run retries.
 */
export async function gradeBatchCommand(
  lab: Lab,
  folder: string,
  runtime: GradingRuntime,
  options: GradeBatchOptions,
): Promise<GradebookRow[]> {
  const { submissions, skipped } = batchSubmissions(folder, options.out);
  if (skipped.length > 0)
    process.stderr.write(
      `[${lab.manifest.id}] left out ${skipped.length} file(s) that are not submission folders: ${skipped.join(", ")}\n`,
    );
  mkdirSync(options.out, { recursive: true });
  const previous = options.force ? new Map<string, GradebookRow>() : previousRows(options.out);
  const rows: (GradebookRow | undefined)[] = submissions.map(() => undefined);
  let done = 0;
  try {
    await forEachInParallel(submissions, options.jobs, async (submission, index) => {
      const { row, kept } = await gradeOne(lab, submission, runtime, options, previous.get(submission.name));
      rows[index] = row;
      process.stderr.write(
        `[${++done}/${submissions.length}] ${submission.name}: ${row.status}, score ${row.score}, ${row.passed}/${row.total} tests` +
          (kept ? " (unchanged since the last run: kept)" : ` (${row.seconds.toFixed(1)} s)`) +
          "\n",
      );
    });
  } finally {
    const graded = rows.filter((row) => row !== undefined);
    writeFileSync(join(options.out, gradebookFiles.json), `${JSON.stringify(graded, null, 2)}\n`);
    writeFileSync(
      join(options.out, gradebookFiles.csv),
      gradebookCsv(
        graded,
        lab.manifest.tasks.map((task) => task.id),
      ),
    );
  }
  return rows as GradebookRow[];
}

async function gradeOne(
  lab: Lab,
  { name, dir }: BatchSubmission,
  runtime: GradingRuntime,
  options: GradeBatchOptions,
  previous: GradebookRow | undefined,
): Promise<{ row: GradebookRow; kept: boolean }> {
  const resultFile = join(options.out, `${name}.json`);
  let result: GradeResult;
  let inputs: string;
  try {
    const { submission } = readLabSubmission(lab, dir);
    inputs = submissionInputs(submission);
    if (previous?.inputs === inputs && existsSync(resultFile)) return { row: previous, kept: true };
    result = await gradeSubmission({ lab, submission, runtime, sandbox: options.sandbox });
  } catch (error) {
    if (error instanceof LearnerFolderError) {
      inputs = `unusable: ${error.message}`;
      result = errorGradeResult(lab.manifest.id, error.message);
    } else {
      // The runner's own trouble (a container that never answered): this row says so, and the next run
      // grades the submission again (no inputs recorded), while the rest of the batch goes on.
      inputs = "";
      result = errorGradeResult(
        lab.manifest.id,
        `the runner could not grade this submission (${(error as Error).message}); run grade-batch again to retry it`,
      );
    }
  }
  writeFileSync(resultFile, jsonReport(options.testCode ? result : withoutTestCode(result)));
  return { row: gradebookRow(name, inputs, result), kept: false };
}

/** The rows of the last run into `out`, by submission name (none when there was none, or it is unreadable). */
function previousRows(out: string): Map<string, GradebookRow> {
  try {
    const rows = JSON.parse(readFileSync(join(out, gradebookFiles.json), "utf8")) as Partial<GradebookRow>[];
    // A row written before gradebooks carried scores is graded again rather than kept without one.
    const scored = rows.filter((row): row is GradebookRow => typeof row.score === "number");
    return new Map(scored.map((row) => [row.submission, row]));
  } catch {
    return new Map();
  }
}
