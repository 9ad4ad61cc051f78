import { type ClaimedJob, type GradingEvent } from "@backend-labs/grading-queue";
import { type GradeProgress } from "@backend-labs/grade-result";

/** The pipeline's progress is already in the queue's event shape; this line keeps the two in step. */
const asGradingEvent = (progress: GradeProgress): GradingEvent => progress;

/**
 * Writes a grade's progress as the job's events, one at a time and in order (the pipeline reports
 * synchronously; ids must follow the order things happened). A failed write loses only that event.
 */
export class ProgressRecorder {
  readonly #job: ClaimedJob;
  readonly #log: (line: string) => void;
  #tail: Promise<void> = Promise.resolve();

  constructor(job: ClaimedJob, log: (line: string) => void) {
    this.#job = job;
    this.#log = log;
  }

  readonly record = (progress: GradeProgress): void => {
    const event = asGradingEvent(progress);
    this.#tail = this.#tail
      .then(() => this.#job.recordEvent(event))
      .then(
        () => {},
        (error: unknown) =>
          this.#log(`job ${this.#job.id}: could not record progress: ${(error as Error).message}`),
      );
  };

  /** Resolves once every event recorded so far is written (or given up). */
  flush(): Promise<void> {
    return this.#tail;
  }
}
