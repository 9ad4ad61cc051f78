import { describe, expect, it } from "vitest";
import { runProblems } from "../src/components/lab/run-problems.ts";

describe("runProblems", () => {
  it("turns each type error in the learner's files into a place to mark", () => {
    const message = [
      "Your code does not compile:",
      "src/bank.ts:12:5 - error TS2322: Type 'string' is not assignable to type 'number'.",
      "src/db.ts:3:1 - error TS2304: Cannot find name 'x'.",
      "node_modules/pg/index.d.ts:1:1 - error TS1005: ';' expected.",
    ].join("\n");
    expect(runProblems(message, ["src/bank.ts", "src/db.ts"])).toEqual([
      {
        path: "src/bank.ts",
        line: 12,
        column: 5,
        message: "error TS2322: Type 'string' is not assignable to type 'number'.",
      },
      { path: "src/db.ts", line: 3, column: 1, message: "error TS2304: Cannot find name 'x'." },
    ]);
  });

  it("marks a crash at its first stack frame in the learner's code", () => {
    const message = [
      "Your code crashed while starting (it threw on import):",
      "TypeError: Cannot read properties of undefined (reading 'query')",
      "    at connect (/workspace/src/db.ts:8:14)",
      "    at /workspace/src/bank.ts:40:11",
    ].join("\n");
    expect(runProblems(message, ["src/bank.ts"])).toEqual([
      {
        path: "src/bank.ts",
        line: 40,
        column: 11,
        message: "Your code crashed while starting (it threw on import):",
      },
    ]);
  });

  it("finds nothing in a message without places", () => {
    expect(runProblems("Your code timed out after 10 s while starting", ["src/bank.ts"])).toEqual([]);
    expect(runProblems(undefined, ["src/bank.ts"])).toEqual([]);
  });
});
