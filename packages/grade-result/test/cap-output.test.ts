import { describe, expect, it } from "vitest";
import { capOutput, gradeResultSchema } from "../src/index.ts";

describe("capOutput", () => {
  it("keeps short output as it is", () => {
    expect(capOutput("hello")).toBe("hello");
  });

  it("cuts long output at the limit and says how much there was", () => {
    const capped = capOutput("x".repeat(1200));
    expect(capped.startsWith("x".repeat(500))).toBe(true);
    expect(capped.slice(500)).toBe("\n[output truncated: showing 500 of 1200 characters]");
  });

  it("leaves output it already cut to the same limit alone, and cuts it again for a smaller one", () => {
    const capped = capOutput("x".repeat(1200));
    expect(capOutput(capped)).toBe(capped);
    expect(capOutput(capped, 100).slice(100)).toBe(
      `\n[output truncated: showing 100 of ${capped.length} characters]`,
    );
  });
});

describe("gradeResultSchema", () => {
  it("accepts an Exercism v3 result with lab extras and rejects another version", () => {
    const result = {
      version: 3,
      status: "fail",
      lab_id: "demo",
      tests: [
        {
          name: "t",
          status: "fail",
          message: "m",
          test_code: "expect(1).toBe(2)",
          task_id: 1,
          duration_ms: 3,
        },
      ],
      timings: {
        validate_ms: 0,
        provision_ms: 1,
        typecheck_ms: 2,
        start_ms: 3,
        run_ms: 4,
        teardown_ms: 5,
        total_ms: 15,
      },
      services: { redis: { image: "redis:8", version: "8.0.0" } },
    };
    expect(gradeResultSchema.parse(result)).toEqual(result);
    expect(gradeResultSchema.safeParse({ ...result, version: 2 }).success).toBe(false);
  });
});
