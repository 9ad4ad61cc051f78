import { type GradeResult } from "@backend-labs/grade-result";
import { describe, expect, it } from "vitest";
import { platformTroubleThrown, withRunnerRetries } from "../src/mutation/mutate-lab.ts";

const passed = { status: "pass", tests: [] } as unknown as GradeResult;

describe("a mutant's grade that the runner fails", () => {
  it("is graded again, and the retries are reported", async () => {
    const troubles: number[] = [];
    let calls = 0;
    const result = await withRunnerRetries(
      "mutant StringLiteral at src/a.ts:3",
      (_what, attempt) => troubles.push(attempt),
      () => (++calls < 3 ? Promise.reject(new Error("container would not start")) : Promise.resolve(passed)),
    );
    expect(result).toBe(passed);
    expect(troubles).toEqual([1, 2]);
  });

  it("ends the run after three failures, naming the mutant and keeping the cause", async () => {
    const cause = new Error("services lost");
    const run = withRunnerRetries("mutant StringLiteral at src/a.ts:3", undefined, () =>
      Promise.reject(cause),
    );
    await expect(run).rejects.toThrow(
      "mutant StringLiteral at src/a.ts:3: the runner failed 3 times to grade it",
    );
    await expect(run).rejects.toHaveProperty("cause", cause);
  });
});

describe("a mutant's grade that ends before its code ran", () => {
  const timings = {
    validate_ms: 1,
    provision_ms: 60_000,
    typecheck_ms: 900,
    start_ms: 0,
    run_ms: 0,
    total_ms: 61_000,
  };
  const ended = (message: string, extra: Partial<GradeResult> = {}) =>
    ({
      version: 3,
      status: "error",
      message,
      lab_id: "lab",
      tests: [],
      timings,
      services: {},
      ...extra,
    }) as GradeResult;

  it("is the platform's trouble when a service did not start: thrown, to be graded again, never a kill", () => {
    expect(() =>
      platformTroubleThrown(
        ended("The kafka service failed to start: Log message not received after 60000ms"),
      ),
    ).toThrow("the grade stopped before the code ran: The kafka service failed to start");
  });

  it("is the mutant's own result when it does not compile, or when its code ran and then failed", () => {
    const typeError = ended("Your code does not compile:\nsrc/a.ts:3:1 - error TS2322");
    expect(platformTroubleThrown(typeError)).toBe(typeError);
    const crashed = ended("Your code crashed while starting", { timings: { ...timings, start_ms: 40 } });
    expect(platformTroubleThrown(crashed)).toBe(crashed);
  });
});
