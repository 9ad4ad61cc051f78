import { type GradeResult, type GradeStatus } from "@backend-labs/grade-result";
import {
  type Lab,
  LabTreeError,
  type LabTree,
  mutantSubmissionFiles,
  treeSubmissionFiles,
  mutationReportProblems,
  promiseTableProblems,
  strengthBacklogFile,
  freshValidationRecord,
  validationInputsHash,
  writeValidationRecord,
  labFiles,
} from "@backend-labs/lab-format";
import { createColors } from "picocolors";
import { forEachInParallel } from "../../grade/for-each-in-parallel.ts";
import { gradeSubmission, type SandboxKind } from "../../grade/grade-submission.ts";
import { type GradingRuntime } from "../../grade/grading-runtime.ts";
import { type Submission, submissionFromTexts } from "../../grade/submission.ts";
import { gradingPlatformHash } from "../../catalog/grading-platform-hash.ts";
import { mutationEngine } from "../../mutation/generate-mutants.ts";
import { progressPrinter } from "../progress-printer.ts";

interface Check {
  variant: string;
  /** For mutants and probes: their id in lab.json. */
  mutantId?: string;
  expected: GradeStatus[];
  submission: () => Submission;
  /** Mutants must be caught by the grader's tests, not by a compile error or a broken service. */
  mustBeCaughtByTests?: boolean;
}

export interface ValidationReport {
  labId: string;
  ok: boolean;
  lines: string[];
  seconds: number;
}

/**
 * A lab is valid when its solution and second solution pass, its starter fails, every mutant and probe is
 * caught by a test, its promises.json maps every README statement to tests (and every test to one), and
 * its mutation report is fresh and strong.
 */
export interface ValidateOptions {
  sandbox: SandboxKind;
  quiet: boolean;
  /** How many of the lab's grades (solution, starter, mutants) run at the same time. */
  jobs: number;
  /** The lab is on the strength backlog: a missing promise table or mutation report is a notice. */
  onStrengthBacklog: boolean;
  /**
   * Trust a fresh validation-record.json for the mutants and probes (CI): they are graded only when the
   * lab or the grading platform changed since they were last proven caught.
   */
  useRecords: boolean;
}

export async function validateLab(
  lab: Lab,
  runtime: GradingRuntime,
  { sandbox, quiet, jobs, onStrengthBacklog, useRecords }: ValidateOptions,
): Promise<ValidationReport> {
  const c = createColors(process.stderr.isTTY === true);
  const started = performance.now();
  const tree = (name: LabTree) => () => submissionFromTexts(treeSubmissionFiles(lab, name));
  const record = useRecords ? freshValidationRecord(lab, gradingPlatformHash()) : undefined;
  const checks: Check[] = [
    { variant: "solution", expected: ["pass"], submission: tree("solution") },
    ...(lab.manifest.secondSolution
      ? [
          {
            variant: "second solution",
            expected: ["pass"],
            submission: tree("second-solution"),
          } satisfies Check,
        ]
      : []),
    { variant: "starter", expected: ["fail"], submission: tree("starter") },
    ...(record ? [] : lab.manifest.mutants).map((mutant): Check => ({
      variant: `${mutant.origin === "probe" ? "probe" : "mutant"} ${mutant.id}`,
      mutantId: mutant.id,
      expected: ["fail", "error"],
      submission: () => submissionFromTexts(mutantSubmissionFiles(lab, mutant)),
      mustBeCaughtByTests: true,
    })),
  ];
  const linesPerCheck: string[][] = checks.map(() => []);
  const caught: { id: string; status: "fail" | "error"; caughtBy: string[] }[] = [];
  let ok = true;
  let solutionTests: string[] | undefined;
  await forEachInParallel(checks, jobs, async (check, index) => {
    const lines = linesPerCheck[index]!;
    let submission: Submission;
    try {
      submission = check.submission();
    } catch (error) {
      if (!(error instanceof LabTreeError)) throw error;
      ok = false;
      lines.push(`  ${c.red("✗")} ${check.variant}: ${error.message}`);
      return;
    }
    const result = await gradeSubmission({
      lab,
      submission,
      runtime,
      sandbox,
      // What must fail needs one failing test to show it is caught: the grade stops there.
      ...(!check.expected.includes("pass") && { suite: { bail: true } }),
      ...(quiet ? {} : { onProgress: progressPrinter(`${lab.manifest.id} ${check.variant}`) }),
    });
    const problem = checkProblem(check, result);
    ok &&= problem === undefined;
    if (check.variant === "solution") solutionTests = result.tests.map((test) => test.name);
    const summary = `${result.status}, ${result.tests.filter((t) => t.status === "pass").length}/${result.tests.length} tests passed, ${(result.timings.total_ms / 1000).toFixed(1)} s`;
    lines.push(
      problem
        ? `  ${c.red("✗")} ${check.variant}: ${problem}`
        : `  ${c.green("✓")} ${check.variant}: ${summary}`,
    );
    if (check.mustBeCaughtByTests) {
      const caughtBy = result.tests.filter((t) => t.status !== "pass").map((test) => test.name);
      for (const name of caughtBy) lines.push(c.dim(`      caught by: ${name}`));
      if (!problem && check.mutantId && result.status !== "pass")
        caught.push({ id: check.mutantId, status: result.status, caughtBy });
    }
  });
  const lines = linesPerCheck.flat();
  if (record) {
    lines.push(
      `  ${c.green("✓")} mutants and probes (${record.fixtures.length}): caught when last graded, and nothing that decides their grades changed since (${labFiles.validationRecord})`,
    );
  } else if (ok) {
    // Proven caught, every one of them: what CI may rely on until the lab or the platform changes.
    const order = new Map(lab.manifest.mutants.map((mutant, index) => [mutant.id, index]));
    writeValidationRecord(lab, {
      lab: lab.manifest.id,
      inputs: validationInputsHash(lab, gradingPlatformHash()),
      fixtures: caught.toSorted((a, b) => order.get(a.id)! - order.get(b.id)!),
    });
  }
  // The grader must check what the README promises, all of it, and be shown strong by mutation testing.
  const strengthProblems = [
    ...(solutionTests ? promiseTableProblems(lab, solutionTests) : []),
    ...mutationReportProblems(lab, mutationEngine),
  ];
  if (!onStrengthBacklog) {
    ok &&= strengthProblems.length === 0;
    lines.push(...strengthProblems.map((problem) => `  ${c.red("✗")} ${problem}`));
  } else if (solutionTests && strengthProblems.length === 0) {
    ok = false;
    lines.push(
      `  ${c.red("✗")} the grader meets the strength bar now: take the lab off labs/${strengthBacklogFile}`,
    );
  } else {
    lines.push(
      ...strengthProblems.map((problem) => `  ${c.yellow("!")} on the strength backlog: ${problem}`),
    );
  }
  return { labId: lab.manifest.id, ok, lines, seconds: (performance.now() - started) / 1000 };
}

function checkProblem(check: Check, result: GradeResult): string | undefined {
  if (!check.expected.includes(result.status)) {
    const detail = result.message ?? result.tests.find((test) => test.status !== "pass")?.message ?? "";
    return `expected ${check.expected.join(" or ")}, got ${result.status}${detail ? `: ${detail.split("\n").slice(0, 6).join("\n    ")}` : ""}`;
  }
  if (check.mustBeCaughtByTests) {
    const caughtByTests = result.tests.some((test) => test.status !== "pass");
    const timedOut = result.status === "error" && /timed out/i.test(result.message ?? "");
    if (!caughtByTests && !timedOut) {
      return `must be caught by the grader's tests, but the grade stopped earlier: ${(result.message ?? "").split("\n")[0]}`;
    }
  }
  const silent = result.tests.find((test) => test.status !== "pass" && !test.message?.trim());
  if (silent) return `test "${silent.name}" failed without a message to teach from`;
  return undefined;
}
