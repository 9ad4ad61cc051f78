import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  formatMutationReport,
  type Lab,
  labFiles,
  labInputsHash,
  maximumEquivalentShare,
  minimumMutationScore,
  type MutationReport,
  type ReportedMutant,
} from "@backend-labs/lab-format";
import { createColors } from "picocolors";
import { type GradingRuntime } from "../../grade/grading-runtime.ts";
import { mutationEngine } from "../../mutation/generate-mutants.ts";
import { mutateLab, type MutateOptions, unmatchedEquivalents } from "../../mutation/mutate-lab.ts";

export interface MutateCommandOptions extends Omit<MutateOptions, "onMutant" | "onResume"> {
  quiet: boolean;
}

/** `labs mutate`: mutation-tests each lab's grader, writes its mutation-report.json, prints a summary. */
export async function mutateCommand(
  labs: Lab[],
  runtime: GradingRuntime,
  options: MutateCommandOptions,
): Promise<boolean> {
  const c = createColors(process.stderr.isTTY === true);
  let allStrong = true;
  for (const lab of labs) {
    const id = lab.manifest.id;
    const report = await mutateLab(lab, runtime, {
      ...options,
      onResume: (resumed, total, journalFile) =>
        process.stderr.write(
          `[${id}] resuming an interrupted run of these same files: ${resumed} of ${total} mutants already judged ` +
            c.dim(`(${journalFile}; --fresh grades them all again)\n`),
        ),
      onRunnerTrouble: (what, attempt, trouble) =>
        process.stderr.write(
          c.yellow(`[${id}] ${what}: the runner failed (attempt ${attempt}), grading it again: `) +
            `${trouble instanceof Error ? trouble.message : String(trouble)}\n`,
        ),
      ...(!options.quiet && {
        onMutant: (done, total, mutant, seconds) => {
          const mark = mutant.status === "survived" ? c.red(mutant.status) : c.dim(mutant.status);
          process.stderr.write(
            c.dim(`[${id}] ${done}/${total} ${mutant.file}:${mutant.line} ${mutant.mutator} `) +
              `${mark} ${c.dim(`(${seconds.toFixed(1)} s)`)}\n`,
          );
        },
      }),
      keep: (finished) =>
        writeFileSync(join(lab.dir, labFiles.mutationReport), formatMutationReport(finished)),
    });
    const stale = unmatchedEquivalents(lab, report);
    const changedMeanwhile = labInputsHash(lab, mutationEngine) !== report.inputs;
    const strong =
      !changedMeanwhile &&
      report.summary.score >= minimumMutationScore &&
      report.summary.equivalent <= report.summary.generated * maximumEquivalentShare &&
      stale.length === 0;
    allStrong &&= strong;
    process.stderr.write(`${summaryLine(report, strong, c)}\n`);
    if (changedMeanwhile)
      process.stderr.write(
        c.red(`    ${id} changed while it was mutated: `) +
          `the report describes the files as they were when the run started, so it is stale; mutate again\n`,
      );
    for (const mutant of report.mutants.filter((candidate) => candidate.status === "survived"))
      process.stderr.write(
        `    survived: ${describeMutant(mutant)}${mutant.covered ? "" : c.dim("  (no test reaches it)")}\n`,
      );
    for (const mutant of report.mutants.filter((candidate) =>
      candidate.reason?.startsWith("declared equivalent"),
    ))
      process.stderr.write(
        `    ${c.yellow("declared equivalent but killed")}: ${describeMutant(mutant)} by ${mutant.killedBy}\n`,
      );
    for (const declared of stale)
      process.stderr.write(
        `    ${c.yellow("declared equivalent matches no mutant")}: ${declared.file}:${declared.line} ${declared.mutator} ${declared.original} -> ${declared.replacement}\n`,
      );
  }
  return allStrong;
}

function summaryLine(report: MutationReport, strong: boolean, c: ReturnType<typeof createColors>): string {
  const { summary } = report;
  const score = `${(summary.score * 100).toFixed(1)} %`;
  return (
    `${strong ? c.green("strong") : c.red("WEAK")} ${report.lab}: score ${strong ? score : c.red(score)} ` +
    `(${summary.generated} mutants: ${summary.killed} killed, ${summary.timedOut} timed out, ${summary.survived} survived, ` +
    `${summary.equivalent} equivalent; ${summary.compileErrors} did not compile, ${summary.excluded} excluded) in ${report.seconds.toFixed(0)} s`
  );
}

export function describeMutant(mutant: ReportedMutant): string {
  return `${mutant.file}:${mutant.line}:${mutant.column} ${mutant.mutator}: ${mutant.original} -> ${mutant.replacement}`;
}
