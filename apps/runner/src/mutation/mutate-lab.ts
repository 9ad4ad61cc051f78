import { type GradeResult } from "@backend-labs/grade-result";
import {
  type EquivalentMutant,
  type Lab,
  labInputsHash,
  type MutationReport,
  type ReportedMutant,
  summarize,
  treeSubmissionFiles,
} from "@backend-labs/lab-format";
import { gradingPlatformHash } from "../catalog/grading-platform-hash.ts";
import { type SandboxKind } from "../environments/environment-shape.ts";
import { gradeSubmission } from "../grade/grade-submission.ts";
import { forEachInParallel } from "../grade/for-each-in-parallel.ts";
import { type GradingRuntime } from "../grade/grading-runtime.ts";
import { submissionFromTexts } from "../grade/submission.ts";
import { type TestMutantCoverage } from "../suites/run-grader-suite.ts";
import { applyMutant, type GeneratedMutant, generateMutants, mutationEngine } from "./generate-mutants.ts";
import { MutationJournal, mutantKey } from "./mutation-journal.ts";

export interface MutateOptions {
  sandbox: SandboxKind;
  /** Mutants graded at the same time. */
  jobs: number;
  onMutant?: (done: number, total: number, mutant: ReportedMutant, seconds: number) => void;
  /** A grade threw (the runner's trouble, not the mutant's result) and is tried again. */
  onRunnerTrouble?: (what: string, attempt: number, trouble: unknown) => void;
  /**
   * Keep a journal of judged mutants here, so that an interrupted run of the same inputs resumes; none
   * when unset.
   */
  journalDir?: string;
  /** Judge every mutant again, even those an interrupted run of the same inputs judged. */
  fresh?: boolean;
  /** Mutants taken from the journal of an interrupted run, before any is graded. */
  onResume?: (resumed: number, total: number, journalFile: string) => void;
  /**
   * Aborted when the run is being stopped (Ctrl+C): grades still in flight then end because their
   * processes are torn down, not because of the mutant, so they are neither recorded nor reported.
   */
  stopped?: AbortSignal;
  /**
   * Stores the finished report (the command writes mutation-report.json). The journal is removed only
   * after it returned, so a run whose report could not be stored can still be resumed.
   */
  keep?: (report: MutationReport) => void;
}

/** The instrumented solution does not pass its own grader: mutation results would mean nothing. */
export class BaselineFailedError extends Error {
  constructor(lab: Lab, result: GradeResult) {
    const failed = result.tests.find((test) => test.status !== "pass");
    const why = [failed && `${failed.name}: ${failed.message ?? failed.status}`, result.message]
      .filter((part) => part !== undefined)
      .join("\n");
    super(
      `${lab.manifest.id}: the instrumented solution does not pass its grader (${result.status}): ` +
        why.split("\n").slice(0, 8).join("\n"),
    );
    this.name = "BaselineFailedError";
  }
}

/** Which grader tests reached each mutant in the baseline run, and which ran outside any test. */
interface CoverageMap {
  filesByMutant: Map<string, Set<string>>;
  outsideTests: Set<string>;
}

/**
 * `labs mutate` for one lab: StrykerJS's instrumenter generates every mutant of the solution's editable
 * files; one grade of the instrumented solution (every mutant behind a switch, none active) must pass and
 * records which grader files reach each mutant; then each mutant, applied to the solution as a learner
 * would submit it, is graded through the real pipeline, stopping at the first failing test and running
 * first the grader files that reach it (all of them when it runs outside tests, or when those pass).
 */
export async function mutateLab(
  lab: Lab,
  runtime: GradingRuntime,
  options: MutateOptions,
): Promise<MutationReport> {
  const started = performance.now();
  // Hashed before grading: were the lab edited during the run, the report describes the files it graded
  // and reads as stale, never as fresh for files it did not grade.
  const inputs = labInputsHash(lab, mutationEngine);
  const solution = treeSubmissionFiles(lab, "solution");
  const { mutants, instrumented } = await generateMutants(solution);
  const coverage = await baseline(lab, runtime, options.sandbox, instrumented);
  const equivalents = matchEquivalents(mutants, lab.manifest.mutation.equivalent);
  const journal =
    options.journalDir === undefined
      ? undefined
      : new MutationJournal(options.journalDir, lab.manifest.id, inputs, gradingPlatformHash(), {
          resume: !options.fresh,
        });

  const reported: ReportedMutant[] = [];
  const pending: number[] = [];
  mutants.forEach((mutant, index) => {
    const earlier = journal?.judged.get(mutantKey(mutant));
    if (earlier) reported[index] = earlier;
    else pending.push(index);
  });
  let done = mutants.length - pending.length;
  if (journal && done > 0) options.onResume?.(done, mutants.length, journal.file);
  await forEachInParallel(pending, options.jobs, async (index) => {
    if (options.stopped?.aborted) return;
    const mutant = mutants[index]!;
    const mutantStarted = performance.now();
    const judged = await judge(lab, runtime, options, solution, mutant, coverage, equivalents.get(mutant));
    if (options.stopped?.aborted) return;
    reported[index] = judged;
    journal?.record(mutantKey(mutant), judged);
    options.onMutant?.(++done, mutants.length, judged, (performance.now() - mutantStarted) / 1000);
  });
  options.stopped?.throwIfAborted();
  const seconds = (performance.now() - started) / 1000 + (journal?.earlierSeconds ?? 0);
  const report: MutationReport = {
    lab: lab.manifest.id,
    engine: mutationEngine,
    inputs,
    seconds: Math.round(seconds * 10) / 10,
    summary: summarize(reported),
    mutants: reported,
  };
  options.keep?.(report);
  journal?.remove();
  return report;
}

/** Declared equivalents that match no generated mutant: stale declarations. */
export function unmatchedEquivalents(lab: Lab, report: MutationReport): EquivalentMutant[] {
  return lab.manifest.mutation.equivalent.filter(
    (declared) =>
      !report.mutants.some(
        (mutant) =>
          mutant.reason === declared.reason &&
          mutant.file === declared.file &&
          mutant.mutator === declared.mutator &&
          mutant.replacement === declared.replacement,
      ),
  );
}

async function baseline(
  lab: Lab,
  runtime: GradingRuntime,
  sandbox: SandboxKind,
  instrumented: Map<string, string>,
): Promise<CoverageMap> {
  const coverage: CoverageMap = { filesByMutant: new Map(), outsideTests: new Set() };
  const onMutantCoverage = ({ file, covered, before }: TestMutantCoverage) => {
    for (const id of covered)
      coverage.filesByMutant.set(id, (coverage.filesByMutant.get(id) ?? new Set()).add(file));
    for (const id of before) coverage.outsideTests.add(id);
  };
  const result = await gradeSubmission({
    lab,
    submission: submissionFromTexts(instrumented),
    runtime,
    sandbox,
    suite: { onMutantCoverage },
  });
  if (result.status !== "pass") throw new BaselineFailedError(lab, result);
  return coverage;
}

async function judge(
  lab: Lab,
  runtime: GradingRuntime,
  { sandbox, onRunnerTrouble }: MutateOptions,
  solution: ReadonlyMap<string, string>,
  mutant: GeneratedMutant,
  coverage: CoverageMap,
  equivalent: EquivalentMutant | undefined,
): Promise<ReportedMutant> {
  const { file, line, column, mutator, original, replacement } = mutant;
  const entry = { file, line, column, mutator, original, replacement };
  if (mutant.excludedBecause !== undefined)
    return { ...entry, status: "excluded", reason: mutant.excludedBecause };

  const reachedBy = coverage.filesByMutant.get(mutant.id);
  const covered = reachedBy !== undefined || coverage.outsideTests.has(mutant.id);
  const grade = (files?: string[]) =>
    withRunnerRetries(`mutant ${mutant.mutator} at ${file}:${line}`, onRunnerTrouble, async () =>
      platformTroubleThrown(
        await gradeSubmission({
          lab,
          submission: submissionFromTexts(applyMutant(solution, mutant)),
          runtime,
          sandbox,
          suite: { bail: true, ...(files && { files }) },
        }),
      ),
    );
  // Grader files that reach it first; all of them when it also runs outside tests or reaches none.
  const first = reachedBy && !coverage.outsideTests.has(mutant.id) ? [...reachedBy] : undefined;
  let result = await grade(first);
  if (result.status === "pass" && first && first.length < lab.graderFiles.length) result = await grade();
  // Two failures may be the machine's rather than the mutant's, and only a second one, on the whole suite,
  // counts: a declared equivalent's (it overrules the author's declaration), and a time-out (on a loaded
  // machine a slow suite or call times out although the mutant changed nothing a test sees).
  if (result.status !== "pass" && (equivalent || isTimeout(result))) result = await grade();

  if (isCompileError(result)) return { ...entry, status: "compile-error" };
  if (result.status === "pass") {
    return equivalent
      ? { ...entry, status: "equivalent", reason: equivalent.reason }
      : { ...entry, status: "survived", covered };
  }
  const failed = result.tests.find((test) => test.status !== "pass");
  return {
    ...entry,
    status: isTimeout(result) ? "timeout" : "killed",
    killedBy: failed?.name ?? (result.message ?? "").split("\n")[0]!,
    ...(equivalent && {
      reason: `declared equivalent in lab.json, but a test kills it: remove the declaration`,
    }),
  };
}

/** The grade's first failing test is a learner call that timed out, or the whole grade ran out of time. */
function isTimeout(result: GradeResult): boolean {
  const failed = result.tests.find((test) => test.status !== "pass");
  return failed?.status === "error" || /timed out/i.test(result.message ?? "");
}

function isCompileError(result: GradeResult): boolean {
  return result.status === "error" && result.message?.startsWith("Your code does not compile") === true;
}

/**
 * A grade that ended in an error before the mutant's code ran, and not on a type error, met the platform's
 * trouble (a service that did not start in time on a loaded machine), not the mutant: it must not count as
 * a kill. Thrown, so that it is graded again like any other runner trouble.
 */
export function platformTroubleThrown(result: GradeResult): GradeResult {
  const beforeItsCode =
    result.status === "error" &&
    result.tests.length === 0 &&
    result.timings.start_ms === 0 &&
    result.timings.run_ms === 0;
  if (beforeItsCode && !isCompileError(result))
    throw new Error(`the grade stopped before the code ran: ${(result.message ?? "").split("\n")[0]}`);
  return result;
}

const runnerAttempts = 3;

/**
 * A grade that throws is the runner's trouble (a container that would not start, services lost), not the
 * mutant's result: grade it again rather than lose a run of hundreds of mutants to one transient failure.
 */
export async function withRunnerRetries(
  what: string,
  onRunnerTrouble: MutateOptions["onRunnerTrouble"],
  grade: () => Promise<GradeResult>,
): Promise<GradeResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await grade();
    } catch (trouble) {
      if (attempt >= runnerAttempts)
        throw new Error(`${what}: the runner failed ${runnerAttempts} times to grade it`, { cause: trouble });
      onRunnerTrouble?.(what, attempt, trouble);
    }
  }
}

/** Each declared equivalent belongs to the mutant that makes the same change, nearest its recorded line. */
function matchEquivalents(
  mutants: GeneratedMutant[],
  declared: EquivalentMutant[],
): Map<GeneratedMutant, EquivalentMutant> {
  const matches = new Map<GeneratedMutant, EquivalentMutant>();
  for (const declaration of declared) {
    const candidates = mutants
      .filter(
        (mutant) =>
          !matches.has(mutant) &&
          mutant.file === declaration.file &&
          mutant.mutator === declaration.mutator &&
          mutant.original === declaration.original &&
          mutant.replacement === declaration.replacement,
      )
      .sort((a, b) => Math.abs(a.line - declaration.line) - Math.abs(b.line - declaration.line));
    if (candidates[0]) matches.set(candidates[0], declaration);
  }
  return matches;
}
