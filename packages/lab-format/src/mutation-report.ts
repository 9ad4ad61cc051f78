import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { hashInputs } from "./inputs-hash.ts";
import { jsonWithLinePerEntry } from "./line-per-entry-json.ts";
import { type Lab, labFiles } from "./load-lab.ts";

/** A lab's graders must kill at least this share of its solution's mutants (equivalents aside). */
export const minimumMutationScore = 0.9;
/** Declared equivalents may be at most this share of the mutants generated. */
export const maximumEquivalentShare = 0.1;

export const mutantStatuses = [
  "killed",
  "timeout",
  "survived",
  "equivalent",
  "compile-error",
  "excluded",
] as const;
export type MutantStatus = (typeof mutantStatuses)[number];

export const reportedMutantSchema = z.object({
  file: z.string(),
  line: z.number().int(),
  column: z.number().int(),
  mutator: z.string(),
  original: z.string(),
  replacement: z.string(),
  status: z.enum(mutantStatuses),
  /** The first test that failed (killed), or the grade's message (timeout). */
  killedBy: z.string().optional(),
  /** For survivors: whether any test ran its code at all. */
  covered: z.boolean().optional(),
  /** Excluded: the `// Stryker disable` comment's reason; equivalent: lab.json's reason. */
  reason: z.string().optional(),
});
export type ReportedMutant = z.infer<typeof reportedMutantSchema>;

export const mutationSummarySchema = z.object({
  /** Mutants that compile and are not excluded: what the score is about. */
  generated: z.number().int(),
  killed: z.number().int(),
  timedOut: z.number().int(),
  survived: z.number().int(),
  equivalent: z.number().int(),
  compileErrors: z.number().int(),
  excluded: z.number().int(),
  /** (killed + timed out) / (generated - equivalent). */
  score: z.number(),
});
export type MutationSummary = z.infer<typeof mutationSummarySchema>;

/** mutation-report.json: what `labs mutate` found for one lab, and the inputs it was computed from. */
export const mutationReportSchema = z.object({
  lab: z.string(),
  engine: z.string(),
  /** Hash of everything that decides the outcome (see labInputsHash): a changed lab makes the report stale. */
  inputs: z.string(),
  seconds: z.number(),
  summary: mutationSummarySchema,
  mutants: z.array(reportedMutantSchema),
});
export type MutationReport = z.infer<typeof mutationReportSchema>;

export function summarize(mutants: ReportedMutant[]): MutationSummary {
  const count = (status: MutantStatus) => mutants.filter((mutant) => mutant.status === status).length;
  const generated = mutants.length - count("compile-error") - count("excluded");
  const detected = count("killed") + count("timeout");
  const scored = generated - count("equivalent");
  return {
    generated,
    killed: count("killed"),
    timedOut: count("timeout"),
    survived: count("survived"),
    equivalent: count("equivalent"),
    compileErrors: count("compile-error"),
    excluded: count("excluded"),
    score: scored === 0 ? 1 : Math.round((detected / scored) * 10_000) / 10_000,
  };
}

/**
 * A hash of what decides a lab's mutation results: lab.json, the solution (what is mutated), the grader
 * (what kills), the starter and fixtures (what the grades run against), and the engine. The README and the
 * hand-written mutants do not change them.
 */
export function labInputsHash(lab: Lab, engine: string): string {
  return hashInputs(
    lab.dir,
    [labFiles.manifest, labFiles.solution, labFiles.grader, labFiles.starter, "fixtures"],
    `engine ${engine}`,
  );
}

/** The report as committed: readable at the top, one line per mutant so diffs stay small. */
export function formatMutationReport(report: MutationReport): string {
  const { mutants, ...head } = report;
  return jsonWithLinePerEntry(head, "mutants", mutants);
}

export function readMutationReport(lab: Lab): MutationReport | undefined {
  const path = join(lab.dir, labFiles.mutationReport);
  if (!existsSync(path)) return undefined;
  return mutationReportSchema.parse(JSON.parse(readFileSync(path, "utf8")));
}

/** Why a lab's committed mutation report does not show strong graders, if it does not. */
export function mutationReportProblems(lab: Lab, engine: string): string[] {
  const report = readMutationReport(lab);
  const rerun = `run \`pnpm labs mutate ${lab.manifest.id}\``;
  if (!report) return [`${labFiles.mutationReport} is missing: ${rerun}`];
  const problems: string[] = [];
  if (report.inputs !== labInputsHash(lab, engine)) {
    problems.push(
      `${labFiles.mutationReport} is stale (the solution, grader, lab.json or fixtures changed since): ${rerun}`,
    );
  }
  const { summary } = report;
  if (summary.score < minimumMutationScore) {
    problems.push(
      `mutation score ${(summary.score * 100).toFixed(1)} % is below ${minimumMutationScore * 100} %: ` +
        `${summary.survived} mutant(s) survive; kill them with sharper tests or declare true equivalents`,
    );
  }
  if (summary.equivalent > summary.generated * maximumEquivalentShare) {
    problems.push(
      `${summary.equivalent} declared equivalents are more than ${maximumEquivalentShare * 100} % of ${summary.generated} mutants`,
    );
  }
  return problems;
}
