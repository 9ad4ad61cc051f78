/**
 * The cause of a refusal that will lift by itself: clients read `data.retryAfterSeconds` (see init.ts) to
 * count down and clear the message when the wait is over, instead of parsing it out of the text.
 */
export class RetryAfter extends Error {
  readonly seconds: number;

  constructor(seconds: number) {
    super(`retry after ${seconds} s`);
    this.name = "RetryAfter";
    this.seconds = seconds;
  }
}
