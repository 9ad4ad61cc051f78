import { describe, expect, it } from "vitest";
import { describeTestError } from "../src/suites/describe-test-error.ts";

// Errors as vitest 5 reports them (colour codes included).
describe("a failed test's message", () => {
  it("keeps the teaching message and the values compared, without the library's tag or a one-line diff", () => {
    expect(
      describeTestError({
        message: "must be 200 when the precondition holds: expected 412 to be 200 // Object.is equality",
        diff: "\u001b[32m- Expected\u001b[39m\n\u001b[31m+ Received\u001b[39m\n\n\u001b[32m- 200\u001b[39m\n\u001b[31m+ 412\u001b[39m",
        expected: "200",
        actual: "412",
      }),
    ).toBe("must be 200 when the precondition holds: expected 412 to be 200");
  });

  it("drops 'expected false to be true' after a message that already says it", () => {
    expect(
      describeTestError({
        message: "the 6th call must be denied: expected false to be true // Object.is equality",
        expected: "true",
        actual: "false",
      }),
    ).toBe("the 6th call must be denied");
  });

  it("keeps the diff of values that span lines, where it shows what differs", () => {
    const described = describeTestError({
      message: "the row: expected { a: 1 } to deeply equal { a: 2 }",
      diff: '- Expected\n+ Received\n\n  {\n-   "a": 2,\n+   "a": 1,\n  }',
      expected: '{\n  "a": 2,\n}',
      actual: '{\n  "a": 1,\n}',
    });
    expect(described).toContain("the row: expected { a: 1 } to deeply equal { a: 2 }");
    expect(described).toContain('-   "a": 2,');
  });

  it("turns a matcher's wrong-type complaint into the cause: a value that is missing", () => {
    expect(describeTestError({ message: ".toMatch() expects to receive a string, but got undefined" })).toBe(
      "This check needed a text, but the value was undefined: something your code should have returned or sent is missing.",
    );
  });
});
