/**
 * Failed sign-ins per email, to slow down password guessing: after `maxFailures` within `windowMs` the
 * address is refused until the oldest failure leaves the window. Kept in memory: per web process, reset
 * by a restart (several web processes would want it in Postgres or Redis).
 */
export class SignInThrottle {
  readonly #failures = new Map<string, number[]>();
  readonly maxFailures: number;
  readonly windowMs: number;

  constructor(maxFailures = 10, windowMs = 15 * 60_000) {
    this.maxFailures = maxFailures;
    this.windowMs = windowMs;
  }

  /** Seconds until the email may try again, or 0 when it may try now. */
  retryAfterSeconds(email: string, now = Date.now()): number {
    const recent = this.#recent(email, now);
    if (recent.length < this.maxFailures) return 0;
    return Math.ceil((recent[0]! + this.windowMs - now) / 1000);
  }

  recordFailure(email: string, now = Date.now()): void {
    this.#failures.set(email, [...this.#recent(email, now), now]);
  }

  recordSuccess(email: string): void {
    this.#failures.delete(email);
  }

  #recent(email: string, now: number): number[] {
    const recent = (this.#failures.get(email) ?? []).filter((at) => at > now - this.windowMs);
    if (recent.length === 0) this.#failures.delete(email);
    return recent;
  }
}
