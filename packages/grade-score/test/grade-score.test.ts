import type { GradeResult } from "@backend-labs/grade-result";
import { describe, expect, it } from "vitest";
import { gradeScore, scorePercent } from "../src/grade-score.ts";

type Test = GradeResult["tests"][number];

function test(taskId: number | undefined, status: Test["status"]): Test {
  return {
    name: `t${taskId}`,
    status,
    test_code: "",
    duration_ms: 1,
    ...(taskId !== undefined && { task_id: taskId }),
  };
}

describe("gradeScore", () => {
  it("weighs every task the same, whatever its number of tests", () => {
    const { score, tasks } = gradeScore({
      status: "fail",
      tests: [test(1, "pass"), test(1, "pass"), test(1, "pass"), test(1, "fail"), test(2, "fail")],
    });
    expect(tasks).toEqual([
      { task_id: 1, passed: 3, total: 4, score: 0.75 },
      { task_id: 2, passed: 0, total: 1, score: 0 },
    ]);
    expect(score).toBe(0.375);
  });

  it("scores a pass 1 and rounds thirds to 4 decimals", () => {
    expect(gradeScore({ status: "pass", tests: [test(2, "pass"), test(1, "pass")] }).score).toBe(1);
    const thirds = gradeScore({ status: "fail", tests: [test(1, "pass"), test(1, "pass"), test(1, "fail")] });
    expect(thirds.score).toBe(0.6667);
  });

  it("scores 0 when the grade ended in an error, keeping how far its tests got", () => {
    const { score, tasks } = gradeScore({ status: "error", tests: [test(1, "pass"), test(2, "error")] });
    expect(score).toBe(0);
    expect(tasks).toEqual([
      { task_id: 1, passed: 1, total: 1, score: 0 },
      { task_id: 2, passed: 0, total: 1, score: 0 },
    ]);
  });

  it("scores 0 when no test ran, and groups tests outside any task last", () => {
    expect(gradeScore({ status: "fail", tests: [] })).toEqual({ score: 0, tasks: [] });
    const { tasks } = gradeScore({ status: "fail", tests: [test(undefined, "pass"), test(1, "fail")] });
    expect(tasks.map((task) => task.task_id)).toEqual([1, null]);
  });

  it("reads as a percentage with at most one decimal", () => {
    expect([1, 0.625, 0.6667, 0].map(scorePercent)).toEqual(["100 %", "62.5 %", "66.7 %", "0 %"]);
  });
});
