import { relative } from "node:path";
import { type GradeStatus } from "@backend-labs/grade-result";
import { type GradingContext, gradingContextKey } from "@backend-labs/graders/grading-context";
import { taskIdFromSuiteName } from "@backend-labs/graders";
import { type Lab } from "@backend-labs/lab-format";
import { type TestCase, type TestModule } from "vitest/node";
import { type ProgressListener } from "@backend-labs/grade-result";
import { describeTestError, type TestError } from "./describe-test-error.ts";
import { type GraderSuites } from "./grader-suites.ts";

/** One grader test as it ended, before it becomes a result entry. */
export interface TestOutcome {
  name: string;
  status: GradeStatus;
  message?: string;
  output?: string;
  taskId?: number;
  durationMs: number;
  file: string;
  line: number;
  column: number;
}

export interface SuiteOutcome {
  tests: TestOutcome[];
  /** Errors outside any test: a grader file that failed to load, a hook that threw. */
  suiteErrors: string[];
  timedOut: boolean;
}

export interface SuiteRunOptions {
  /** Stop at the first failing test (mutation runs need only one). */
  bail?: boolean;
  /** Grader files to run (absolute paths); default: all of them. */
  files?: string[];
  /** Mutation testing's baseline: receives, per test, which mutants of the instrumented solution it reached. */
  onMutantCoverage?: (coverage: TestMutantCoverage) => void;
}

export interface TestMutantCoverage {
  test: string;
  file: string;
  /** Reached while the test ran. */
  covered: string[];
  /** Reached outside any test, before this one (imports, a copy's start, the previous test's tail). */
  before: string[];
}

/**
 * Stage 6: runs the lab's grader suite with vitest, in the runner (never in the learner's process), on a
 * warm vitest instance of the lab's. The suite reaches the learner's code and the services through the
 * grading context. When the deadline passes or `signal` aborts, `onExpire` stops the learner's code and
 * the run is cancelled.
 */
export async function runGraderSuite(
  suites: GraderSuites,
  lab: Lab,
  context: GradingContext,
  onProgress: ProgressListener,
  deadline: { ms: number; onExpire: () => Promise<void> },
  signal?: AbortSignal,
  options: SuiteRunOptions = {},
): Promise<SuiteOutcome> {
  signal?.throwIfAborted();
  const suite = await suites.checkOut(lab);
  let cancelled = false;
  let timedOut = false;
  const stop = () => {
    cancelled = true;
    void deadline.onExpire().then(() => suite.vitest.cancelCurrentRun("keyboard-input"));
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, deadline.ms);
  signal?.addEventListener("abort", stop);
  try {
    suite.listen((testCase) => {
      const outcome = toOutcome(testCase);
      if (outcome)
        onProgress({
          type: "test",
          name: outcome.name,
          status: outcome.status,
          durationMs: outcome.durationMs,
          ...(outcome.message !== undefined && { message: outcome.message }),
          ...(outcome.taskId !== undefined && { taskId: outcome.taskId }),
        });
    });
    suite.vitest.getRootProject().provide(gradingContextKey, context);
    suite.vitest.config.bail = options.bail ? 1 : 0;
    const files = (options.files ?? lab.graderFiles).toSorted();
    const run = await suite.vitest.runTestSpecifications(
      files.map((file) => suite.vitest.getRootProject().createSpecification(file)),
      true,
    );
    // Only what this run started: files a bail skipped would still hold an earlier grade's results.
    const startedFiles = suite.startedFiles();
    const modules = run.testModules
      .filter((module) => startedFiles.has(module.moduleId))
      .toSorted((a, b) => files.indexOf(a.moduleId) - files.indexOf(b.moduleId));
    if (options.onMutantCoverage) {
      for (const testCase of modules.flatMap((module) => [...module.children.allTests()])) {
        const meta = testCase.meta();
        options.onMutantCoverage({
          test: testCase.fullName,
          file: testCase.module.moduleId,
          covered: meta.mutantsCovered ?? [],
          before: meta.mutantsCoveredBefore ?? [],
        });
      }
    }
    return {
      tests: modules.flatMap((module) =>
        [...module.children.allTests()].map(toOutcome).filter((test) => test !== undefined),
      ),
      suiteErrors: [
        ...modules.flatMap(moduleErrors),
        ...run.unhandledErrors.map((error) => describeTestError(error as TestError)),
      ],
      timedOut,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
    suite.listen(undefined);
    // A cancelled run may leave a worker stuck in the learner's hung call: that instance is not reused.
    suites.checkIn(suite, { reusable: !cancelled });
  }
}

function toOutcome(testCase: TestCase): TestOutcome | undefined {
  const result = testCase.result();
  if (result.state === "skipped" || result.state === "pending") return undefined;
  const errors = result.errors ?? [];
  const timedOut = errors.some(isLearnerTimeout);
  const output = testCase.meta().learnerOutput;
  const taskId = findTaskId(testCase);
  return {
    name: testCase.fullName,
    status: result.state === "passed" ? "pass" : timedOut ? "error" : "fail",
    ...(errors.length > 0 && { message: errors.map(describeTestError).join("\n\n") }),
    ...(output && { output }),
    ...(taskId !== undefined && { taskId }),
    durationMs: Math.round(testCase.diagnostic()?.duration ?? 0),
    file: testCase.module.moduleId,
    line: testCase.location?.line ?? 0,
    column: testCase.location?.column ?? 0,
  };
}

/** A hung learner call, also when a grader helper wrapped it in an error of its own (as its cause). */
function isLearnerTimeout(error: { name?: string; cause?: unknown } | undefined): boolean {
  for (let current = error; current; current = current.cause as typeof error) {
    if (current.name === "LearnerTimeoutError") return true;
  }
  return false;
}

function findTaskId(testCase: TestCase): number | undefined {
  for (let parent = testCase.parent; parent.type === "suite"; parent = parent.parent) {
    const id = taskIdFromSuiteName(parent.name);
    if (id !== undefined) return id;
  }
  return undefined;
}

function moduleErrors(module: TestModule): string[] {
  return module
    .errors()
    .map((error) => `${relative(module.project.config.root, module.moduleId)}: ${describeTestError(error)}`);
}
