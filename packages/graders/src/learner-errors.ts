import { type SerializedError } from "./learner-protocol.ts";

/** The learner's function threw; the grader may expect that (`rejects.toThrow(/insufficient/)`). */
export class LearnerThrewError extends Error {
  readonly learnerError: SerializedError;

  constructor(fn: string, learnerError: SerializedError) {
    super(`\`${fn}\` threw ${learnerError.name}: ${learnerError.message}`);
    this.name = "LearnerThrewError";
    this.learnerError = learnerError;
  }
}

/** The learner's code could not be called at all: missing export, unsendable value, dead process. */
export class LearnerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LearnerUnavailableError";
  }
}

/** A call into the learner's code did not finish in time; the runner stops that process and the grade is `error`. */
export class LearnerTimeoutError extends Error {
  constructor(what: string, timeoutMs: number, diagnosis?: string) {
    super(
      `${what} timed out after ${timeoutMs / 1000} s: ` +
        (diagnosis ?? "look for a loop that never ends or a promise that never settles"),
    );
    this.name = "LearnerTimeoutError";
  }
}
