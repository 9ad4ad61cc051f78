import type pg from "pg";
import { gradingJobsChannel } from "./channels.ts";
import { ListenConnection } from "./listen-connection.ts";

export interface JobWakeupsOptions {
  connection: string | pg.ClientConfig;
  onError?: (error: Error) => void;
}

/**
 * Wakes idle workers: LISTEN grading_jobs (sent on enqueue and requeue) for new work at once; a timeout
 * in wait() covers what is never announced, leases that simply expire. Take a mark() before trying to
 * claim and wait(mark) after finding nothing: an announcement in between makes wait return at once.
 */
export class JobWakeups implements AsyncDisposable {
  readonly #connection: ListenConnection;
  readonly #waiters = new Set<() => void>();
  #generation = 0;

  constructor(options: JobWakeupsOptions) {
    this.#connection = new ListenConnection({
      connection: options.connection,
      channel: gradingJobsChannel,
      onNotification: () => this.#wakeAll(),
      // Announcements may have been missed while not listening: everyone looks again.
      onListening: () => this.#wakeAll(),
      onError:
        options.onError ?? ((error) => process.stderr.write(`grading job wakeups: ${error.message}\n`)),
    });
  }

  get listening(): boolean {
    return this.#connection.listening;
  }

  mark(): number {
    return this.#generation;
  }

  /** Resolves on an announcement after `mark`, after `timeoutMs`, or when `signal` aborts. */
  wait(mark: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (mark !== this.#generation || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done);
      this.#waiters.add(done);
    });
  }

  async close(): Promise<void> {
    for (const done of [...this.#waiters]) done();
    await this.#connection.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #wakeAll(): void {
    this.#generation++;
    for (const done of [...this.#waiters]) done();
  }
}
