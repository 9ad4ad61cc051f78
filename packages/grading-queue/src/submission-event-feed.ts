import type pg from "pg";
import { submissionEventsChannel } from "./channels.ts";
import { ListenConnection } from "./listen-connection.ts";

/**
 * What a subscriber hears: a new event of its submission was stored, or the feed (re)started listening
 * and may have missed announcements, so the subscriber must re-read from the database.
 */
export type FeedNotice = { type: "event"; eventId: string } | { type: "resync" };
export type FeedListener = (notice: FeedNotice) => void;

export interface SubmissionEventFeedOptions {
  connection: string | pg.ClientConfig;
  onError?: (error: Error) => void;
}

/**
 * One LISTEN connection per process for every submission's progress, fanned out to subscribers by
 * submission id. Announcements only say "event N exists": subscribers read events with listEvents (or
 * use followSubmissionEvents, which does both).
 */
export class SubmissionEventFeed implements AsyncDisposable {
  readonly #options: SubmissionEventFeedOptions;
  readonly #listeners = new Map<string, Set<FeedListener>>();
  #connection: ListenConnection | undefined;
  #closed = false;

  constructor(options: SubmissionEventFeedOptions) {
    this.#options = options;
  }

  /** Whether the LISTEN connection is up right now (it connects on the first subscribe). */
  get listening(): boolean {
    return this.#connection?.listening ?? false;
  }

  /** Calls `listener` for the submission's new events; returns the function that unsubscribes. */
  subscribe(submissionId: string, listener: FeedListener): () => void {
    if (this.#closed) throw new Error("the submission event feed is closed");
    this.#connection ??= new ListenConnection({
      connection: this.#options.connection,
      channel: submissionEventsChannel,
      onNotification: (payload) => this.#announce(payload),
      onListening: () => this.#resyncAll(),
      onError:
        this.#options.onError ??
        ((error) => process.stderr.write(`submission event feed: ${error.message}\n`)),
    });
    let listeners = this.#listeners.get(submissionId);
    if (!listeners) this.#listeners.set(submissionId, (listeners = new Set()));
    // A wrapper per subscription, so subscribing the same function twice gives two independent subscriptions.
    const subscription: FeedListener = (notice) => listener(notice);
    listeners.add(subscription);
    return () => {
      listeners.delete(subscription);
      if (listeners.size === 0 && this.#listeners.get(submissionId) === listeners)
        this.#listeners.delete(submissionId);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#connection?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #announce(payload: string): void {
    const separator = payload.lastIndexOf(":");
    const listeners = this.#listeners.get(payload.slice(0, separator));
    if (!listeners) return;
    const notice: FeedNotice = { type: "event", eventId: payload.slice(separator + 1) };
    for (const listener of [...listeners]) deliver(listener, notice);
  }

  #resyncAll(): void {
    for (const listeners of this.#listeners.values())
      for (const listener of [...listeners]) deliver(listener, { type: "resync" });
  }
}

/** One subscriber that throws must not keep the others from hearing. */
function deliver(listener: FeedListener, notice: FeedNotice): void {
  try {
    listener(notice);
  } catch (error) {
    process.stderr.write(`submission event feed: a listener threw: ${(error as Error).message}\n`);
  }
}
