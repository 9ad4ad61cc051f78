import { join } from "node:path";
import { type GradeResult, type GradeStatus } from "@backend-labs/grade-result";
import { type Lab, labFiles } from "@backend-labs/lab-format";
import { createColors } from "picocolors";
import { gradeSubmission, type SandboxKind } from "../../grade/grade-submission.ts";
import { type GradingRuntime } from "../../grade/grading-runtime.ts";
import { readSubmissionDir, type Submission } from "../../grade/submission.ts";
import { progressPrinter } from "../progress-printer.ts";

interface Check {
  variant: string;
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

/** A lab is valid when its solution passes, its starter fails, and every mutant is caught. */
export interface ValidateOptions {
  sandbox: SandboxKind;
  quiet: boolean;
  /** How many of the lab's grades (solution, starter, mutants) run at the same time. */
  jobs: number;
}

export async function validateLab(
  lab: Lab,
  runtime: GradingRuntime,
  { sandbox, quiet, jobs }: ValidateOptions,
): Promise<ValidationReport> {
  const c = createColors(process.stderr.isTTY === true);
  const started = performance.now();
  const checks: Check[] = [
    {
      variant: "solution",
      expected: ["pass"],
      submission: () => learnerFiles(lab, readSubmissionDir(join(lab.dir, labFiles.solution)), "solution"),
    },
    {
      variant: "starter",
      expected: ["fail"],
      submission: () => learnerFiles(lab, readSubmissionDir(join(lab.dir, labFiles.starter)), "starter"),
    },
    ...lab.manifest.mutants.map((mutant): Check => ({
      variant: `mutant ${mutant.id}`,
      expected: ["fail", "error"],
      submission: () =>
        learnerFiles(
          lab,
          overlay(join(lab.dir, labFiles.solution), join(lab.dir, labFiles.mutants, mutant.id)),
          `mutants/${mutant.id}`,
        ),
      mustBeCaughtByTests: true,
    })),
  ];
  const linesPerCheck: string[][] = checks.map(() => []);
  let ok = true;
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < checks.length; index = next++) {
      const check = checks[index]!;
      const lines = linesPerCheck[index]!;
      let submission: Submission;
      try {
        submission = check.submission();
      } catch (error) {
        ok = false;
        lines.push(`  ${c.red("✗")} ${check.variant}: ${(error as Error).message}`);
        continue;
      }
      const result = await gradeSubmission({
        lab,
        submission,
        runtime,
        sandbox,
        ...(quiet ? {} : { onProgress: progressPrinter(`${lab.manifest.id} ${check.variant}`) }),
      });
      const problem = checkProblem(check, result);
      ok &&= problem === undefined;
      const summary = `${result.status}, ${result.tests.filter((t) => t.status === "pass").length}/${result.tests.length} tests passed, ${(result.timings.total_ms / 1000).toFixed(1)} s`;
      lines.push(
        problem
          ? `  ${c.red("✗")} ${check.variant}: ${problem}`
          : `  ${c.green("✓")} ${check.variant}: ${summary}`,
      );
      if (check.mustBeCaughtByTests) {
        for (const test of result.tests.filter((t) => t.status !== "pass"))
          lines.push(c.dim(`      caught by: ${test.name}`));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, checks.length)) }, worker));
  const lines = linesPerCheck.flat();
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

/**
 * What a learner would submit from a tree: its editable files. A tree may also carry copies of the lab's
 * fixed files (so that it type-checks on its own); those must be the starter's, byte for byte.
 */
function learnerFiles(lab: Lab, tree: Submission, treeName: string): Submission {
  const editable = new Set(lab.manifest.learner.editable);
  const starter = readSubmissionDir(join(lab.dir, labFiles.starter));
  const files = new Map<string, Buffer>();
  for (const [path, content] of tree.files) {
    if (editable.has(path)) files.set(path, content);
    else if (!starter.files.get(path)?.equals(content)) {
      throw new Error(
        `${treeName}/${path} is not editable (learner.editable), so grading uses starter/${path}; ` +
          "keep the two identical or list the file as editable",
      );
    }
  }
  return { files, unreadable: tree.unreadable };
}

function overlay(baseDir: string, overlayDir: string): Submission {
  const base = readSubmissionDir(baseDir);
  const top = readSubmissionDir(overlayDir);
  for (const [path, content] of top.files) base.files.set(path, content);
  return { files: base.files, unreadable: [...base.unreadable, ...top.unreadable] };
}
