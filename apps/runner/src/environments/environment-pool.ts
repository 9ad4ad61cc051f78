import { randomUUID } from "node:crypto";
import { type Lab } from "@backend-labs/lab-format";
import { availableMemoryMb } from "./available-memory.ts";
import { type EnvironmentShape, type SandboxKind, shapeKey, shapeOf } from "./environment-shape.ts";
import { GradeEnvironment, type PreparedEnvironment } from "./grade-environment.ts";

export interface PoolSettings {
  /** node_modules of the labs package: the libraries learner code may import. */
  labsNodeModules: string;
  /**
   * Environments kept per shape, in use or ready: a runner that grades N at a time wants N + 1, so one is
   * always ready while the others are busy or being recycled. 0 turns the pool off (see below).
   */
  size: number;
  /** Below this much available memory (MiB) nothing is started ahead of demand and idle environments go. */
  minAvailableMemoryMb: number;
  /** Learner containers kept waiting in each Docker environment. */
  warmCopies: number;
  log?: (line: string) => void;
}

/** How a grade got its environment: ready in the pool, started for it, or no pool at all. */
export type PoolOutcome = "hit" | "miss" | "off";

export interface AcquiredEnvironment {
  environment: GradeEnvironment;
  prepared: PreparedEnvironment;
  pool: PoolOutcome;
}

interface Member {
  environment: GradeEnvironment;
  key: string;
  /** The lab it was last used for: after a recycle it is prepared for that lab again. */
  lastLab: Lab;
  state: "idle" | "busy" | "recycling";
  since: number;
}

/**
 * Grade environments started ahead of demand, per shape (Docker or process sandbox; which services).
 * Each environment serves one grade at a time; after it, the environment is recycled in the background
 * (its services reset or replaced, fresh accounts made, learner containers waiting anew) and prepared for
 * the same lab again, so the next grade of that lab starts at once. With `size: 0` there is no pool:
 * every grade gets an environment of its own, named after the grade, removed after it (as before pools).
 */
export class EnvironmentPool implements AsyncDisposable {
  private readonly settings: PoolSettings;
  private readonly members = new Set<Member>();
  private readonly creating = new Map<string, number>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly memoryWatch: NodeJS.Timeout | undefined;
  private closed = false;
  readonly counts = { hits: 0, misses: 0, recycles: 0 };

  constructor(settings: PoolSettings) {
    this.settings = settings;
    if (this.enabled) {
      this.memoryWatch = setInterval(() => this.shrinkUnderMemoryPressure(), 5_000);
      this.memoryWatch.unref();
    }
  }

  get enabled(): boolean {
    return this.settings.size > 0;
  }

  /** An environment prepared for one grade of `lab`: from the pool when one is ready, otherwise started now. */
  async acquire(lab: Lab, sandbox: SandboxKind, gradeId: string): Promise<AcquiredEnvironment> {
    const shape = shapeOf(lab, sandbox);
    if (!this.enabled) {
      const environment = await this.create(shape, gradeId);
      return { environment, prepared: await prepareOrDispose(environment, lab), pool: "off" };
    }
    const key = shapeKey(shape);
    for (let member = this.takeIdle(key, lab); member; member = this.takeIdle(key, lab)) {
      if (!(await member.environment.healthy())) {
        this.settings.log?.(`pool: an idle ${key} environment is no longer healthy; replacing it`);
        this.discard(member);
        continue;
      }
      member.lastLab = lab;
      const prepared = await this.prepareMember(member, lab);
      this.counts.hits++;
      this.replenish(shape, lab);
      return { environment: member.environment, prepared, pool: "hit" };
    }
    this.counts.misses++;
    const environment = await this.create(shape, randomUUID());
    const member: Member = { environment, key, lastLab: lab, state: "busy", since: Date.now() };
    this.members.add(member);
    const prepared = await this.prepareMember(member, lab);
    this.replenish(shape, lab);
    return { environment, prepared, pool: "miss" };
  }

  /**
   * Takes back an environment after its grade (off the grade's critical path): recycled and kept, or
   * removed when it is not healthy, the pool is full, or there is no pool. One that no learner code ever
   * ran in (the grade stopped at a type error) is still as prepared: it is ready again at once.
   */
  release(
    environment: GradeEnvironment,
    { healthy, untouched = false }: { healthy: boolean; untouched?: boolean },
  ): void {
    const member = [...this.members].find((candidate) => candidate.environment === environment);
    if (!member) {
      this.track(environment[Symbol.asyncDispose]());
      return;
    }
    if (!healthy || this.closed || this.shapeCount(member.key) > this.settings.size) {
      this.discard(member);
      return;
    }
    if (untouched) {
      member.state = "idle";
      member.since = Date.now();
      return;
    }
    member.state = "recycling";
    this.counts.recycles++;
    this.track(
      (async () => {
        try {
          await environment.recycle();
          await environment.prepare(member.lastLab);
          member.state = "idle";
          member.since = Date.now();
        } catch (error) {
          this.settings.log?.(
            `pool: recycling an environment failed, removing it: ${(error as Error).message}`,
          );
          this.discard(member);
        }
      })(),
    );
  }

  /** Starts environments for these labs' shapes ahead of their first grades. */
  prewarm(labs: Lab[], sandbox: SandboxKind): void {
    if (!this.enabled) return;
    const seen = new Set<string>();
    for (const lab of labs) {
      const shape = shapeOf(lab, sandbox);
      if (seen.has(shapeKey(shape))) continue;
      seen.add(shapeKey(shape));
      this.replenish(shape, lab);
    }
  }

  /** Resolves when no environment is being started or recycled. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  stats(): {
    idle: number;
    busy: number;
    recycling: number;
    hits: number;
    misses: number;
    recycles: number;
  } {
    const count = (state: Member["state"]) =>
      [...this.members].filter((member) => member.state === state).length;
    return { idle: count("idle"), busy: count("busy"), recycling: count("recycling"), ...this.counts };
  }

  private takeIdle(key: string, lab: Lab): Member | undefined {
    const idle = [...this.members].filter((member) => member.key === key && member.state === "idle");
    const member = idle.find((candidate) => candidate.environment.preparedFor === lab.manifest.id) ?? idle[0];
    if (member) member.state = "busy";
    return member;
  }

  private async prepareMember(member: Member, lab: Lab): Promise<PreparedEnvironment> {
    try {
      return await member.environment.prepare(lab);
    } catch (error) {
      // A lab whose service versions do not fit says so as its result; the environment is fine.
      this.release(member.environment, { healthy: true });
      throw error;
    }
  }

  /** Starts environments of `shape` until the pool holds `size` of them, while memory allows. */
  private replenish(shape: EnvironmentShape, lab: Lab): void {
    const key = shapeKey(shape);
    while (
      !this.closed &&
      this.shapeCount(key) < this.settings.size &&
      availableMemoryMb() >= this.settings.minAvailableMemoryMb
    ) {
      this.creating.set(key, (this.creating.get(key) ?? 0) + 1);
      this.track(
        (async () => {
          try {
            const environment = await this.create(shape, randomUUID());
            const member: Member = { environment, key, lastLab: lab, state: "recycling", since: Date.now() };
            this.members.add(member);
            if (this.closed) return this.discard(member);
            await environment.prepare(lab).catch(() => undefined);
            member.state = "idle";
          } catch (error) {
            this.settings.log?.(`pool: starting a ${key} environment failed: ${(error as Error).message}`);
          } finally {
            this.creating.set(key, (this.creating.get(key) ?? 1) - 1);
          }
        })(),
      );
    }
  }

  private shapeCount(key: string): number {
    return [...this.members].filter((member) => member.key === key).length + (this.creating.get(key) ?? 0);
  }

  private create(shape: EnvironmentShape, id: string): Promise<GradeEnvironment> {
    return GradeEnvironment.create({
      id,
      shape,
      labsNodeModules: this.settings.labsNodeModules,
      warmCopies: this.enabled ? this.settings.warmCopies : 0,
    });
  }

  private discard(member: Member): void {
    this.members.delete(member);
    this.track(member.environment[Symbol.asyncDispose]());
  }

  private shrinkUnderMemoryPressure(): void {
    const idle = [...this.members]
      .filter((member) => member.state === "idle")
      .sort((a, b) => a.since - b.since);
    for (const member of idle) {
      if (availableMemoryMb() >= this.settings.minAvailableMemoryMb) return;
      this.settings.log?.(`pool: memory is short; removing an idle ${member.key} environment`);
      this.discard(member);
    }
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined);
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.closed = true;
    clearInterval(this.memoryWatch);
    await this.settled();
    for (const member of [...this.members]) this.discard(member);
    await this.settled();
  }
}

async function prepareOrDispose(environment: GradeEnvironment, lab: Lab): Promise<PreparedEnvironment> {
  try {
    return await environment.prepare(lab);
  } catch (error) {
    await environment[Symbol.asyncDispose]();
    throw error;
  }
}
