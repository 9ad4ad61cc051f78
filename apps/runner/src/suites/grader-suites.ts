import { statSync } from "node:fs";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { type Lab, labFiles, listFiles } from "@backend-labs/lab-format";
import { join, relative } from "node:path";
import { BaseSequencer, createVitest, type TestCase, type TestSpecification, type Vitest } from "vitest/node";

const setupFile = fileURLToPath(import.meta.resolve("@backend-labs/graders/vitest-setup"));

/** Grader files run in name order: a result must not depend on what ran before on this machine. */
class FileNameSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return Promise.resolve([...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId)));
  }
}

/** A vitest instance for one lab's grader suite, kept between grades; it runs one grade at a time. */
export interface WarmSuite {
  readonly lab: Lab;
  readonly vitest: Vitest;
  /** The grader folder's state when the instance was made: an edited suite gets a new instance. */
  readonly fingerprint: string;
  /** Where test results go during the current run; setting one starts a run's bookkeeping afresh. */
  listen(listener: ((testCase: TestCase) => void) | undefined): void;
  /**
   * The grader files that started in the current run. vitest keeps every module it ever ran in its
   * state, so a run that bails out early would otherwise report the files it never reached with the
   * results of an earlier grade.
   */
  startedFiles(): ReadonlySet<string>;
}

/**
 * Warm vitest instances, per lab. Making one (a Vite server, config, transforms of the grader files and
 * their imports) costs about a second; a grade then only runs the files. Each grade still gets fresh test
 * modules and the grading context of its own (`provide`), so nothing a grader file does carries over.
 */
export class GraderSuites implements AsyncDisposable {
  private readonly idle = new Map<string, WarmSuite[]>();
  private readonly closing = new Set<Promise<void>>();

  async checkOut(lab: Lab): Promise<WarmSuite> {
    const fingerprint = graderFingerprint(lab);
    const waiting = this.idle.get(lab.dir) ?? [];
    for (let suite = waiting.pop(); suite; suite = waiting.pop()) {
      if (suite.fingerprint === fingerprint) return suite;
      this.close(suite);
    }
    return createSuite(lab, fingerprint);
  }

  checkIn(suite: WarmSuite, { reusable }: { reusable: boolean }): void {
    if (!reusable) {
      this.close(suite);
      return;
    }
    const waiting = this.idle.get(suite.lab.dir) ?? [];
    waiting.push(suite);
    this.idle.set(suite.lab.dir, waiting);
  }

  /** Makes an instance for each lab ahead of its first grade. */
  async warm(labs: Lab[]): Promise<void> {
    await Promise.all(
      labs
        .filter((lab) => !this.idle.get(lab.dir)?.length)
        .map(async (lab) => this.checkIn(await this.checkOut(lab), { reusable: true })),
    );
  }

  private close(suite: WarmSuite): void {
    const closed = suite.vitest
      .close()
      .catch(() => undefined)
      .finally(() => process.setMaxListeners(process.getMaxListeners() - 1));
    this.closing.add(closed);
    void closed.finally(() => this.closing.delete(closed));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const suites of this.idle.values()) for (const suite of suites.splice(0)) this.close(suite);
    await Promise.all(this.closing);
  }
}

async function createSuite(lab: Lab, fingerprint: string): Promise<WarmSuite> {
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const handlersBefore = signalHandlers();
  const callTimeoutMs = lab.manifest.callTimeoutSeconds * 1000;
  let listener: ((testCase: TestCase) => void) | undefined;
  const started = new Set<string>();
  // An open vitest keeps one listener of its own on the process per event (exit, unhandledRejection, and
  // the stop signals while it is created): a pool of warm suites is by design, not a listener leak.
  process.setMaxListeners(process.getMaxListeners() + 1);
  const vitest = await createVitest(
    "test",
    {
      root: lab.dir,
      config: false,
      watch: false,
      include: lab.graderFiles.map((file) => relative(lab.dir, file)),
      setupFiles: [setupFile],
      reporters: [
        {
          onTestModuleStart: (module) => void started.add(module.moduleId),
          onTestCaseResult: (testCase: TestCase) => listener?.(testCase),
        },
      ],
      includeTaskLocation: true,
      // No results cache in the lab folder, and no reordering based on it.
      cache: false,
      sequence: { sequencer: FileNameSequencer },
      fileParallelism: false,
      testTimeout: callTimeoutMs * 3,
      hookTimeout: callTimeoutMs * 3,
      pool: "threads",
      color: false,
    },
    { logLevel: "silent" },
    { stdout: discard, stderr: discard },
  ).catch((error: unknown) => {
    process.setMaxListeners(process.getMaxListeners() - 1);
    throw error;
  });
  removeSignalHandlersAddedSince(handlersBefore);
  return {
    lab,
    vitest,
    fingerprint,
    listen: (next) => {
      listener = next;
      started.clear();
    },
    startedFiles: () => started,
  };
}

/** Names and modification times of the grader folder's files and lab.json. */
function graderFingerprint(lab: Lab): string {
  const files = [
    join(lab.dir, labFiles.manifest),
    ...listFiles(join(lab.dir, labFiles.grader)).map((file) => join(lab.dir, labFiles.grader, file)),
  ];
  return files.map((file) => `${file}@${statSync(file).mtimeMs}`).join("\n");
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
