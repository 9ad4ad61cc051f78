import { type Lab } from "@backend-labs/lab-format";
import { EnvironmentPool, type PoolSettings } from "../environments/environment-pool.ts";
import { type SandboxKind } from "../environments/environment-shape.ts";
import { GraderSuites } from "../suites/grader-suites.ts";
import { Typechecker } from "../typecheck/typechecker.ts";
import { trackRuntime } from "./in-flight-grades.ts";

export type PoolOptions = Omit<PoolSettings, "labsNodeModules" | "log">;

/** No pool: every grade starts its environment and removes it afterwards (`labs grade`, `--no-pool`). */
export const noPool: PoolOptions = { size: 0, minAvailableMemoryMb: 0, warmCopies: 0 };

/**
 * A pool for a runner that grades `concurrency` at a time: per shape one environment more than that, so
 * one is ready while the others are busy or being recycled; two learner containers waiting in each.
 */
export function poolFor(concurrency: number): PoolOptions {
  return { size: concurrency + 1, minAvailableMemoryMb: 1024, warmCopies: 2 };
}

/**
 * What a runner process keeps warm between grades: the environment pool, the type-checker with its parsed
 * declaration files, and a vitest instance per lab. Also where a grade's teardown runs after its result is
 * reported. Dispose it (or `await using`) to wait for those teardowns and remove everything it started.
 */
export class GradingRuntime implements AsyncDisposable {
  readonly labsNodeModules: string;
  readonly environments: EnvironmentPool;
  readonly typechecker = new Typechecker();
  readonly suites = new GraderSuites();
  private readonly teardowns = new Set<Promise<void>>();
  private readonly untrack: () => void;

  constructor(labsNodeModules: string, pool: PoolOptions = noPool, log?: (line: string) => void) {
    this.labsNodeModules = labsNodeModules;
    this.environments = new EnvironmentPool({ labsNodeModules, ...pool, ...(log && { log }) });
    this.untrack = trackRuntime(this);
  }

  /** Starts what the first grades of these labs will need: environments, vitest instances, the type-checker. */
  async prewarm(labs: Lab[], sandbox: SandboxKind): Promise<void> {
    this.environments.prewarm(labs, sandbox);
    await Promise.all([
      this.suites.warm(labs),
      ...labs.map((lab) =>
        this.typechecker.check({
          labsNodeModules: this.labsNodeModules,
          name: lab.manifest.id,
          files: new Map(),
        }),
      ),
    ]);
  }

  /** Runs a grade's teardown after its result was handed back; dispose() waits for it. */
  afterResult(teardown: () => Promise<void>): void {
    const running = teardown().catch(() => undefined);
    this.teardowns.add(running);
    void running.finally(() => this.teardowns.delete(running));
  }

  /** Resolves when every teardown has finished and the pool is at rest. */
  async settled(): Promise<void> {
    while (this.teardowns.size > 0) await Promise.all(this.teardowns);
    await this.environments.settled();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.settled();
    await Promise.allSettled([
      this.environments[Symbol.asyncDispose](),
      this.suites[Symbol.asyncDispose](),
      this.typechecker[Symbol.asyncDispose](),
    ]);
    this.untrack();
  }
}
