import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type LearnerStatus } from "@backend-labs/graders/control-protocol";
import { type LearnerEndpoint } from "@backend-labs/graders/grading-context";
import { harnessRoutes } from "@backend-labs/graders/learner-protocol";
import { type LearnerCopy, type LearnerSandbox } from "../sandbox/learner-sandbox.ts";
import { LearnerOutputLog } from "./learner-output-log.ts";

const importFailedExitCode = 70;
/** Node's exit code when the event loop empties while a top-level await is still pending. */
const unsettledTopLevelAwaitExitCode = 13;

export interface LearnerProcessSettings {
  sandbox: LearnerSandbox;
  http: boolean;
  /** Connection settings for the lab's services. */
  serviceEnv: Record<string, string>;
  startTimeoutMs: number;
  memoryLimitMb: number;
  /** Looks at the services when a call hangs, for a cause the learner can act on. */
  diagnoseHang?: () => Promise<string | undefined>;
}

/** Why a copy of the learner's code did not come up; becomes the grade's `error` message. */
export class LearnerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LearnerStartError";
  }
}

interface LearnerProcess {
  endpoint: LearnerEndpoint;
  copy: LearnerCopy;
  stoppedBecause: LearnerStatus["stoppedBecause"];
  hungIn?: string;
  hangDiagnosis?: string;
}

/**
 * Stage 5: copies of the learner's code, each isolated by the sandbox (a container, or for trusted code a
 * process group). The runner owns them; grader suites ask for them through the control server.
 */
export class LearnerProcesses implements AsyncDisposable {
  readonly output = new LearnerOutputLog();
  private readonly processes = new Map<string, LearnerProcess>();
  private readonly settings: LearnerProcessSettings;
  private nextId = 1;

  constructor(settings: LearnerProcessSettings) {
    this.settings = settings;
  }

  /** The first call to a copy that hung, if any: the grade then ends as `error`. */
  get hang(): { learnerId: string; what: string; diagnosis?: string } | undefined {
    for (const [learnerId, process] of this.processes) {
      if (process.hungIn)
        return {
          learnerId,
          what: process.hungIn,
          ...(process.hangDiagnosis && { diagnosis: process.hangDiagnosis }),
        };
    }
    return undefined;
  }

  async start(extraEnv: Record<string, string> = {}): Promise<LearnerEndpoint> {
    const id = `learner-${this.nextId++}`;
    const copy = await this.settings.sandbox.launch({
      id,
      // The grader may override service settings too (a bad DATABASE_URL for a fail-fast test).
      env: { ...this.settings.serviceEnv, ...extraEnv },
      onOutput: (text) => this.output.append(id, text),
    });
    const endpoint: LearnerEndpoint = {
      id,
      rpcUrl: copy.rpcUrl,
      httpUrl: this.settings.http ? copy.httpUrl : null,
    };
    this.processes.set(id, { endpoint, copy, stoppedBecause: null });
    await this.waitUntilReady(id);
    return endpoint;
  }

  private async waitUntilReady(id: string): Promise<void> {
    const learner = this.get(id);
    const deadline = Date.now() + this.settings.startTimeoutMs;
    let rpcReady = false;
    let httpReady = !this.settings.http;
    while (Date.now() < deadline) {
      if (learner.copy.exit) throw new LearnerStartError(this.describeEarlyExit(id));
      rpcReady ||= await answers(`${learner.endpoint.rpcUrl}/exports`);
      httpReady ||= await acceptsConnections(learner.copy.httpUrl);
      if (rpcReady && httpReady) return;
      await sleep(50);
    }
    const seconds = this.settings.startTimeoutMs / 1000;
    await this.stop(id, "SIGKILL", 0, "hung");
    throw new LearnerStartError(
      this.settings.http && rpcReady
        ? `Your code timed out after ${seconds} s while starting: it never listened on process.env.PORT`
        : `Your code timed out after ${seconds} s while starting: is there a loop or an await at the top level that never ends?`,
    );
  }

  private describeEarlyExit(id: string): string {
    const exit = this.get(id).copy.exit!;
    const printed = this.output.since(0, id).trim();
    const tail = printed ? `\n${printed.split("\n").slice(-12).join("\n")}` : "";
    if (exit.code === importFailedExitCode)
      return `Your code crashed while starting (it threw on import):${tail}`;
    if (exit.code === unsettledTopLevelAwaitExitCode) {
      return "Your code never finished starting: a top-level `await` waits on a promise that can never settle.";
    }
    if (exit.outOfMemory) {
      return `Your code ran out of memory while starting (the limit is ${this.settings.memoryLimitMb} MB).${tail}`;
    }
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    return `Your code ${how} while starting, before the grader could call it.${tail}`;
  }

  /**
   * Resolves once the output log holds everything the running copies have written so far (at most maxMs).
   * A copy that cannot say how much it wrote (busy, or dying) falls back to waiting for quiet.
   */
  async settleOutput(maxMs = 2_000): Promise<void> {
    const running = [...this.processes].filter(([, { copy }]) => !copy.exit);
    const written = await Promise.all(
      running.map(async ([id, { endpoint }]) => {
        try {
          const response = await fetch(endpoint.rpcUrl + harnessRoutes.printed, {
            signal: AbortSignal.timeout(500),
          });
          return { id, bytes: response.ok ? ((await response.json()) as number) : undefined };
        } catch {
          return { id, bytes: undefined };
        }
      }),
    );
    const deadline = performance.now() + maxMs;
    const behind = () =>
      written.some(({ id, bytes }) => bytes !== undefined && this.output.received(id) < bytes);
    while (behind() && performance.now() < deadline) await sleep(5);
    if (written.some(({ bytes }) => bytes === undefined)) await this.output.settle();
  }

  /** Mutants of an instrumented solution that the running copies reached since the last call. */
  async mutantCoverage(): Promise<string[]> {
    const running = [...this.processes.values()].filter(({ copy }) => !copy.exit);
    const seen = await Promise.all(
      running.map(async ({ endpoint }) => {
        try {
          const response = await fetch(endpoint.rpcUrl + harnessRoutes.mutantCoverage, {
            signal: AbortSignal.timeout(2_000),
          });
          return response.ok ? ((await response.json()) as string[]) : [];
        } catch {
          return []; // A copy that is busy or dying reports nothing; its mutants then run against every test.
        }
      }),
    );
    return [...new Set(seen.flat())];
  }

  async exportedFunctions(id: string): Promise<string[]> {
    const response = await fetch(`${this.get(id).endpoint.rpcUrl}/exports`);
    return (await response.json()) as string[];
  }

  status(id: string): LearnerStatus {
    const { copy, stoppedBecause, hangDiagnosis } = this.get(id);
    const exit = copy.exit;
    return {
      running: !exit,
      exitCode: exit?.code ?? null,
      signal: exit?.signal ?? null,
      outOfMemory: exit?.outOfMemory ?? false,
      memoryLimitMb: this.settings.memoryLimitMb,
      stoppedBecause,
      ...(hangDiagnosis && { hangDiagnosis }),
    };
  }

  /** A call to the copy timed out: the services are looked at for why, before the copy is killed. */
  async markHung(id: string, what: string): Promise<LearnerStatus> {
    const learner = this.get(id);
    if (learner.hungIn === undefined) {
      learner.hungIn = what;
      const diagnosis = await this.settings.diagnoseHang?.().catch(() => undefined);
      if (diagnosis) learner.hangDiagnosis = diagnosis;
    }
    return this.stop(id, "SIGKILL", 0, "hung");
  }

  async stop(
    id: string,
    signal: "SIGTERM" | "SIGKILL",
    graceMs: number,
    because: NonNullable<LearnerStatus["stoppedBecause"]> = "requested",
  ): Promise<LearnerStatus> {
    const { copy } = this.get(id);
    if (!copy.exit) {
      this.get(id).stoppedBecause ??= because;
      await copy.signal(signal);
      if (signal === "SIGTERM") {
        const forced = setTimeout(() => void copy.signal("SIGKILL"), graceMs);
        await copy.exited;
        clearTimeout(forced);
      } else {
        await copy.exited;
      }
    }
    return this.status(id);
  }

  has(id: string): boolean {
    return this.processes.has(id);
  }

  private get(id: string): LearnerProcess {
    const learner = this.processes.get(id);
    if (!learner) throw new Error(`no learner process ${id}`);
    return learner;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.processes.values()].map(({ copy }) => copy[Symbol.asyncDispose]()));
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(500) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function acceptsConnections(baseUrl: string): Promise<boolean> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(500, () => socket.destroy(new Error("timeout")));
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
