import { type StageTimings } from "@backend-labs/grade-result";

type StageKey = "validate_ms" | "provision_ms" | "typecheck_ms" | "start_ms" | "run_ms";

/** Measures how long each grading stage took. */
export class StageClock {
  private readonly started = performance.now();
  private readonly timings: Record<StageKey, number> = {
    validate_ms: 0,
    provision_ms: 0,
    typecheck_ms: 0,
    start_ms: 0,
    run_ms: 0,
  };

  async time<T>(stage: StageKey, work: () => Promise<T> | T): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.timings[stage] += Math.round(performance.now() - start);
    }
  }

  snapshot(): StageTimings {
    return { ...this.timings, total_ms: Math.round(performance.now() - this.started) };
  }
}
