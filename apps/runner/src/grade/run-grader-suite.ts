import { relative } from "node:path";
import { Writable } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { fileURLToPath } from "node:url";
import { type GradeStatus } from "@backend-labs/grade-result";
import { type GradingContext, gradingContextKey } from "@backend-labs/graders/grading-context";
import { taskIdFromSuiteName } from "@backend-labs/graders";
import { type Lab } from "@backend-labs/lab-format";
import {
  BaseSequencer,
  createVitest,
  type TestCase,
  type TestModule,
  type TestSpecification,
} from "vitest/node";
import { type ProgressListener } from "./grade-progress.ts";

const setupFile = fileURLToPath(import.meta.resolve("@backend-labs/graders/vitest-setup"));

/** Grader files run in name order: a result must not depend on what ran before on this machine. */
class FileNameSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return Promise.resolve([...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId)));
  }
}

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

/**
 * Stage 6: runs the lab's grader suite with vitest, in the runner (never in the learner's process). The
 * suite reaches the learner's code and the services through the grading context. When the deadline
 * passes or `signal` aborts, `onExpire` stops the learner's code and the run is cancelled.
 */
export async function runGraderSuite(
  lab: Lab,
  context: GradingContext,
  onProgress: ProgressListener,
  deadline: { ms: number; onExpire: () => Promise<void> },
  signal?: AbortSignal,
): Promise<SuiteOutcome> {
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const handlersBefore = signalHandlers();
  const vitest = await createVitest(
    "test",
    {
      root: lab.dir,
      config: false,
      watch: false,
      include: lab.graderFiles.map((file) => relative(lab.dir, file)),
      setupFiles: [setupFile],
      provide: { [gradingContextKey]: context },
      reporters: [
        {
          onTestCaseResult: (testCase: TestCase) => {
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
          },
        },
      ],
      includeTaskLocation: true,
      // No results cache in the lab folder, and no reordering based on it.
      cache: false,
      sequence: { sequencer: FileNameSequencer },
      fileParallelism: false,
      testTimeout: context.callTimeoutMs * 3,
      hookTimeout: context.callTimeoutMs * 3,
      pool: "threads",
      color: false,
    },
    { logLevel: "silent" },
    { stdout: discard, stderr: discard },
  );
  removeSignalHandlersAddedSince(handlersBefore);
  let timedOut = false;
  const stop = () => void deadline.onExpire().then(() => vitest.cancelCurrentRun("keyboard-input"));
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, deadline.ms);
  signal?.addEventListener("abort", stop);
  try {
    signal?.throwIfAborted();
    await vitest.start();
    const modules = [...vitest.state.getTestModules()].sort(
      (a, b) => lab.graderFiles.indexOf(a.moduleId) - lab.graderFiles.indexOf(b.moduleId),
    );
    return {
      tests: modules.flatMap((module) =>
        [...module.children.allTests()].map(toOutcome).filter((test) => test !== undefined),
      ),
      suiteErrors: [
        ...modules.flatMap(moduleErrors),
        ...vitest.state.getUnhandledErrors().map((error) => describeError(error as Error)),
      ],
      timedOut,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
    await vitest.close();
  }
}

/**
 * vitest's node API exits the process shortly after SIGINT/SIGTERM while it is open. The runner decides
 * what those signals mean (the CLI tears grades down first; the worker also releases its jobs), so the
 * handlers createVitest adds are removed again.
 */
const stopSignals = ["SIGINT", "SIGTERM"] as const;

function signalHandlers(): Map<NodeJS.Signals, Set<NodeJS.SignalsListener>> {
  return new Map(stopSignals.map((signal) => [signal, new Set(process.listeners(signal))]));
}

function removeSignalHandlersAddedSince(before: Map<NodeJS.Signals, Set<NodeJS.SignalsListener>>): void {
  for (const signal of stopSignals) {
    for (const listener of process.listeners(signal))
      if (!before.get(signal)?.has(listener)) process.off(signal, listener);
  }
}

function toOutcome(testCase: TestCase): TestOutcome | undefined {
  const result = testCase.result();
  if (result.state === "skipped" || result.state === "pending") return undefined;
  const errors = result.errors ?? [];
  const timedOut = errors.some((error) => error.name === "LearnerTimeoutError");
  const output = testCase.meta().learnerOutput;
  const taskId = findTaskId(testCase);
  return {
    name: testCase.fullName,
    status: result.state === "passed" ? "pass" : timedOut ? "error" : "fail",
    ...(errors.length > 0 && { message: errors.map(describeError).join("\n\n") }),
    ...(output && { output }),
    ...(taskId !== undefined && { taskId }),
    durationMs: Math.round(testCase.diagnostic()?.duration ?? 0),
    file: testCase.module.moduleId,
    line: testCase.location?.line ?? 0,
    column: testCase.location?.column ?? 0,
  };
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
    .map((error) => `${relative(module.project.config.root, module.moduleId)}: ${describeError(error)}`);
}

function describeError(error: { name?: string; message?: string; diff?: string }): string {
  const message = stripVTControlCharacters(error.message ?? "(no message)");
  return error.diff ? `${message}\n\n${stripVTControlCharacters(error.diff)}` : message;
}
