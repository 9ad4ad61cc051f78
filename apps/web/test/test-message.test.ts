import { describe, expect, it } from "vitest";
import { splitTestMessage } from "../src/components/lab/test-message.ts";

describe("a failed test's message", () => {
  it("keeps the teaching text apart from the Expected/Received diff that follows it", () => {
    const diff = '- Expected\n+ Received\n\n  Object {\n-   "status": 201,\n+   "status": 500,\n  }';
    expect(splitTestMessage(`POST /orders must answer 201 { id }\n\n${diff}`)).toEqual({
      text: "POST /orders must answer 201 { id }",
      diff,
    });
  });

  it("is all text when there is no diff, even when it names what was expected", () => {
    const message = "expected 412 to be 200: - Expected the precondition to hold";
    expect(splitTestMessage(message)).toEqual({ text: message, diff: undefined });
  });
});
