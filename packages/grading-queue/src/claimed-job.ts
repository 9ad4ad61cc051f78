import { type GradeResult } from "@backend-labs/grade-result";
import type pg from "pg";
import { notifyEvent, notifyJob } from "./channels.ts";
import { type GradingEvent } from "./grading-event.ts";
import { eventPayload } from "./insert-event.ts";
import { capResultForStorage } from "./storage-caps.ts";

export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeaseLostError";
  }
}

/** The learner cancelled the Run while it was graded: the lease is gone, and nothing is to be written. */
export class JobCancelledError extends LeaseLostError {
  constructor(id: string) {
    super(`${id} was cancelled by its learner`);
    this.name = "JobCancelledError";
  }
}

export interface ClaimedJobFields {
  id: string;
  userId: string;
  labId: string;
  files: Record<string, string>;
  /** This claim's number: 1 for the first, 2 after a worker died... */
  attempt: number;
  workerId: string;
  leaseToken: string;
  leaseMs: number;
  leaseExpiresAt: Date;
}

/**
 * A job this worker holds under a lease. Every write is fenced by the lease token: once another worker
 * has claimed the job (because this one's lease expired), this object can no longer extend, record,
 * finish or release anything.
 */
export class ClaimedJob {
  readonly id: string;
  readonly userId: string;
  readonly labId: string;
  readonly files: Record<string, string>;
  readonly attempt: number;
  readonly workerId: string;
  readonly leaseMs: number;
  /** When the lease ends by the database's clock, as of the last claim or renewal. */
  leaseExpiresAt: Date;
  readonly #leaseToken: string;
  readonly #db: pg.Pool;
  readonly #lost = new AbortController();
  /** performance.now() by which the lease is sure to be ours: counted from when the last renewal was sent. */
  #heldUntil: number;
  #expiryTimer: NodeJS.Timeout | undefined;
  /** Finished or requeued by this worker: the lease has nothing left to protect. */
  #settled = false;

  constructor(db: pg.Pool, fields: ClaimedJobFields, claimSentAt: number) {
    this.#db = db;
    this.id = fields.id;
    this.userId = fields.userId;
    this.labId = fields.labId;
    this.files = fields.files;
    this.attempt = fields.attempt;
    this.workerId = fields.workerId;
    this.leaseMs = fields.leaseMs;
    this.leaseExpiresAt = fields.leaseExpiresAt;
    this.#leaseToken = fields.leaseToken;
    this.#heldUntil = claimSentAt + fields.leaseMs;
    this.#armExpiry();
  }

  /**
   * Aborted (reason: LeaseLostError) when the lease is known to be lost, or when it ran out before a
   * renewal was confirmed: from then on another worker may hold the job, so this one must stop.
   */
  get leaseLost(): AbortSignal {
    return this.#lost.signal;
  }

  /** Renews the lease for another leaseMs; false (and leaseLost aborted) when it is no longer ours. */
  async extendLease(): Promise<boolean> {
    if (this.#settled || this.#lost.signal.aborted) return false;
    const sentAt = performance.now();
    // The job's state comes along, so a lease ended by the learner's Cancel is told from one taken over.
    const { rows } = await this.#db.query<{ lease_expires_at: Date | null; state: string | null }>(
      `WITH renewed AS (
         UPDATE submissions SET lease_expires_at = now() + $3::double precision * interval '1 millisecond'
         WHERE id = $1 AND lease_token = $2 AND state = 'running'
         RETURNING lease_expires_at
       )
       SELECT (SELECT lease_expires_at FROM renewed) AS lease_expires_at,
              (SELECT state::text FROM submissions WHERE id = $1) AS state`,
      [this.id, this.#leaseToken, this.leaseMs],
    );
    const renewed = rows[0]?.lease_expires_at ? { lease_expires_at: rows[0].lease_expires_at } : undefined;
    if (!renewed) {
      this.#lostWhileIn(rows[0]?.state);
      return false;
    }
    if (this.#settled || this.#lost.signal.aborted) return false;
    this.leaseExpiresAt = renewed.lease_expires_at;
    this.#heldUntil = sentAt + this.leaseMs;
    this.#armExpiry();
    return true;
  }

  /**
   * Renews the lease every `everyMs` (a third of the lease by default) until disposed. A renewal that
   * fails (database unreachable) is retried at the next tick; if none succeeds in time, leaseLost aborts.
   */
  keepLeaseAlive(everyMs: number = this.leaseMs / 3, onError: (error: Error) => void = () => {}): Disposable {
    const timer = setInterval(() => {
      this.extendLease().catch((error: unknown) => onError(error as Error));
    }, everyMs);
    timer.unref();
    return { [Symbol.dispose]: () => clearInterval(timer) };
  }

  /** Stores and announces a progress event; false when the lease is no longer ours. */
  async recordEvent(event: GradingEvent): Promise<boolean> {
    // FOR SHARE waits for a concurrent claim of the row, then sees its new token: no event of a stale claim slips in.
    const { rowCount } = await this.#db.query(
      `WITH owner AS (
         SELECT id FROM submissions WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR SHARE
       ), event AS (
         INSERT INTO submission_events (submission_id, attempt, payload)
         SELECT id, $3, $4::jsonb FROM owner RETURNING id, submission_id
       )
       SELECT ${notifyEvent} FROM event`,
      [this.id, this.#leaseToken, this.attempt, eventPayload(event)],
    );
    return await this.#written(rowCount);
  }

  /**
   * Writes the result (capped) and the `finished` event, only while the lease token still matches: a
   * worker that lost its lease can never overwrite the result of the one that took over.
   */
  async finish(result: GradeResult): Promise<boolean> {
    const stored = capResultForStorage(result);
    const { rowCount } = await this.#db.query(
      `WITH finished AS (
         UPDATE submissions
         SET state = 'finished', result_status = $3, result = $4::jsonb, finished_at = now(),
             lease_token = NULL, lease_expires_at = NULL
         WHERE id = $1 AND lease_token = $2 AND state = 'running'
         RETURNING id, attempts
       ), event AS (
         INSERT INTO submission_events (submission_id, attempt, payload)
         SELECT id, attempts, $5::jsonb FROM finished RETURNING id, submission_id
       )
       SELECT ${notifyEvent} FROM event`,
      [
        this.id,
        this.#leaseToken,
        stored.status,
        JSON.stringify(stored),
        eventPayload({ type: "finished", status: stored.status }),
      ],
    );
    const written = await this.#written(rowCount);
    this.#settle();
    return written;
  }

  /** Puts the job back in the queue at once, not counting this claim as an attempt (graceful shutdown). */
  release(): Promise<boolean> {
    return this.#requeue("the worker grading it was stopped; it is queued again", false);
  }

  /**
   * Puts the job back in the queue at once, counting this claim as an attempt (the worker's machine
   * failed, e.g. Docker stopped answering): after the maximum attempts it ends as an error.
   */
  retryLater(reason: string): Promise<boolean> {
    return this.#requeue(reason, true);
  }

  async #requeue(reason: string, countsAsAttempt: boolean): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `WITH requeued AS (
         UPDATE submissions
         SET state = 'queued', attempts = attempts - $3::int, lease_token = NULL, lease_expires_at = NULL,
             worker_id = NULL, started_at = NULL
         WHERE id = $1 AND lease_token = $2 AND state = 'running'
         RETURNING id
       ), event AS (
         INSERT INTO submission_events (submission_id, attempt, payload)
         SELECT id, $4, $5::jsonb FROM requeued RETURNING id, submission_id
       )
       SELECT ${notifyEvent}, ${notifyJob} FROM event`,
      [
        this.id,
        this.#leaseToken,
        countsAsAttempt ? 0 : 1,
        this.attempt,
        eventPayload({ type: "retrying", reason }),
      ],
    );
    const written = await this.#written(rowCount);
    this.#settle();
    return written;
  }

  /** False when no row matched this claim; then the lease is lost, for the reason the job's state gives. */
  async #written(rowCount: number | null): Promise<boolean> {
    if (rowCount !== 0) return true;
    const { rows } = await this.#db.query<{ state: string }>(
      "SELECT state::text AS state FROM submissions WHERE id = $1",
      [this.id],
    );
    this.#lostWhileIn(rows[0]?.state);
    return false;
  }

  /** A write or renewal found the claim gone: the learner's Cancel is told from a claim taken over. */
  #lostWhileIn(state: string | null | undefined): void {
    if (state === "cancelled") this.#lose(new JobCancelledError(this.id));
    else this.#loseLease("the lease was taken over or the job was finished elsewhere");
  }

  #armExpiry(): void {
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = setTimeout(
      () => this.#loseLease(`the lease (${this.leaseMs} ms) ran out before a renewal was confirmed`),
      Math.max(0, this.#heldUntil - performance.now()),
    );
    this.#expiryTimer.unref();
  }

  #loseLease(why: string): void {
    this.#lose(new LeaseLostError(`lost the lease on ${this.id}: ${why}`));
  }

  #lose(reason: LeaseLostError): void {
    clearTimeout(this.#expiryTimer);
    if (!this.#lost.signal.aborted) this.#lost.abort(reason);
  }

  /** The job left this worker's hands (finished or requeued): no more expiry to watch. */
  #settle(): void {
    this.#settled = true;
    clearTimeout(this.#expiryTimer);
  }
}
