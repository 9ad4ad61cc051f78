import type pg from "pg";

/**
 * Failed sign-ins per email, to slow down password guessing: after `maxFailures` within `windowMs` the
 * address is refused until the oldest failure leaves the window. Counted in Postgres by its own clock, so
 * every web process behind a load balancer sees the same failures and a restart forgets none.
 */
export class SignInThrottle {
  readonly #db: pg.Pool;
  readonly maxFailures: number;
  readonly windowMs: number;

  constructor(db: pg.Pool, { maxFailures = 10, windowMs = 15 * 60_000 } = {}) {
    this.#db = db;
    this.maxFailures = maxFailures;
    this.windowMs = windowMs;
  }

  /** Seconds until the email may try again, or 0 when it may try now. */
  async retryAfterSeconds(email: string): Promise<number> {
    const { rows } = await this.#db.query<{ failures: number; wait_ms: number | null }>(
      `SELECT count(*)::int AS failures,
              EXTRACT(EPOCH FROM min(failed_at) + $2 * interval '1 millisecond' - now()) * 1000 AS wait_ms
         FROM sign_in_failures
        WHERE email = $1 AND failed_at > now() - $2 * interval '1 millisecond'`,
      [email, this.windowMs],
    );
    const { failures, wait_ms } = rows[0]!;
    return failures < this.maxFailures ? 0 : Math.max(1, Math.ceil(Number(wait_ms) / 1000));
  }

  /** Counts a failure, and drops this email's failures that left the window (the table stays small). */
  async recordFailure(email: string): Promise<void> {
    await this.#db.query(
      `WITH expired AS (
         DELETE FROM sign_in_failures WHERE email = $1 AND failed_at <= now() - $2 * interval '1 millisecond'
       )
       INSERT INTO sign_in_failures (email) VALUES ($1)`,
      [email, this.windowMs],
    );
  }

  async recordSuccess(email: string): Promise<void> {
    await this.#db.query("DELETE FROM sign_in_failures WHERE email = $1", [email]);
  }
}
