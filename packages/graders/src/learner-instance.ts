import { setTimeout as sleep } from "node:timers/promises";
import { controlApi } from "./control-client.ts";
import { type LearnerStatus } from "./control-protocol.ts";
import { gradingContext, type LearnerEndpoint } from "./grading-context.ts";
import { LearnerThrewError, LearnerTimeoutError, LearnerUnavailableError } from "./learner-errors.ts";
import { type CallResponse, decode, encode, harnessRoutes } from "./learner-protocol.ts";

/** Every function of T, made async: what calling the learner's module across processes looks like. */
export type Remote<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** One running copy of the learner's code, in its own process. */
export class LearnerInstance {
  readonly endpoint: LearnerEndpoint;

  constructor(endpoint: LearnerEndpoint) {
    this.endpoint = endpoint;
  }

  /** The learner module's exports as async functions: `await app.module<Api>().transfer("a", "b", 5)`. */
  module<T extends object>(): Remote<T> {
    return new Proxy({} as Remote<T>, {
      get: (_target, property) =>
        typeof property === "string" && property !== "then"
          ? (...args: unknown[]) => this.call(property, ...args)
          : undefined,
    });
  }

  async call<T = unknown>(fn: string, ...args: unknown[]): Promise<T> {
    const timeoutMs = gradingContext().callTimeoutMs;
    await this.assertRunning(`\`${fn}(...)\``);
    let body: string;
    try {
      const response = await fetch(this.endpoint.rpcUrl + harnessRoutes.call, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: encode({ fn, args }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = await response.text();
    } catch (error) {
      throw await this.explainFailure(`\`${fn}(...)\``, error, timeoutMs);
    }
    const reply = decode<CallResponse>(body);
    if (reply.ok) return reply.value as T;
    if (reply.kind === "threw") throw new LearnerThrewError(fn, reply.error);
    throw new LearnerUnavailableError(reply.error.message);
  }

  /** Base URL of the learner's HTTP server joined with path. */
  url(path = "/"): string {
    if (!this.endpoint.httpUrl) {
      throw new Error("this lab's learner code serves no HTTP (set learner.http in lab.json)");
    }
    return new URL(path, this.endpoint.httpUrl).href;
  }

  /** fetch() against the learner's server, with the lab's call timeout and clear errors when it is down. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const timeoutMs = gradingContext().callTimeoutMs;
    await this.assertRunning(`${init.method ?? "GET"} ${path}`);
    try {
      return await fetch(this.url(path), { ...init, signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw await this.explainFailure(`${init.method ?? "GET"} ${path}`, error, timeoutMs);
    }
  }

  /** Graceful stop (SIGTERM, then SIGKILL after graceMs). */
  stop(graceMs = 5_000) {
    return controlApi.stop(this.endpoint.id, { signal: "SIGTERM", graceMs });
  }

  /** Abrupt stop, as when a machine dies. */
  kill() {
    return controlApi.stop(this.endpoint.id, { signal: "SIGKILL" });
  }

  status() {
    return controlApi.status(this.endpoint.id);
  }

  /** Everything this copy printed so far (stdout and stderr). */
  async output(): Promise<string> {
    return (await controlApi.output(0, this.endpoint.id, true)).text;
  }

  /**
   * A copy that has stopped fails at once: in a container its address stops answering altogether, so a
   * request would only end with the call timeout.
   */
  private async assertRunning(what: string): Promise<void> {
    const status = await controlApi.status(this.endpoint.id);
    if (!status.running) throw await this.explainStopped(what, status);
  }

  private async explainFailure(what: string, error: unknown, timeoutMs: number): Promise<Error> {
    let status = await controlApi.status(this.endpoint.id);
    // A connection that broke mid-call usually means the copy is dying (a crash, the OOM killer): give
    // the runner a moment to see it exit, so the message says why.
    for (let waited = 0; status.running && !isTimeout(error) && waited < 2_000; waited += 100) {
      await sleep(100);
      status = await controlApi.status(this.endpoint.id);
    }
    if (!status.running) return this.explainStopped(what, status);
    if (isTimeout(error)) {
      const { hangDiagnosis } = await controlApi.reportHung(this.endpoint.id, { fn: what, timeoutMs });
      return new LearnerTimeoutError(what, timeoutMs, hangDiagnosis);
    }
    return new LearnerUnavailableError(`${what} failed: ${(error as Error).message}`);
  }

  private async explainStopped(what: string, status: LearnerStatus): Promise<Error> {
    if (status.stoppedBecause === "hung") {
      return new LearnerUnavailableError(
        `${what} failed: your process was stopped after an earlier call timed out`,
      );
    }
    const how = status.outOfMemory
      ? `ran out of memory (its limit is ${status.memoryLimitMb} MB) and was killed`
      : status.signal
        ? `was stopped by ${status.signal}`
        : `exited with code ${status.exitCode}`;
    const tail = (await this.output()).trim().split("\n").slice(-5).join("\n");
    return new LearnerUnavailableError(
      `${what} failed: your process ${how}${tail ? `. Its last output:\n${tail}` : " and printed nothing"}`,
    );
  }
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}
