import { type GradeResult } from "@backend-labs/grade-result";
import { describe, expect, it } from "vitest";
import { withRunnerRetries } from "../src/mutation/mutate-lab.ts";

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
