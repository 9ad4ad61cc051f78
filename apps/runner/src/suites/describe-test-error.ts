import { stripVTControlCharacters } from "node:util";

/** What vitest reports for a failed assertion or an error thrown in a test. */
export interface TestError {
  message?: string;
  diff?: string;
  expected?: unknown;
  actual?: unknown;
}

const libraryTag = / \/\/ Object\.is equality$/m;
/** "<teaching message>: expected false to be true": the tail restates what the message already says. */
const booleanTail = /^(?<message>[\s\S]+): expected (true|false) to be (true|false)$/;
/** What vitest says when a matcher gets the wrong type; the grader's own message is lost with it. */
const wrongType = /^\.(?<matcher>\w+)\(\) expects to receive an? (?<wanted>[\w ]+), but got (?<got>\w+)$/;

/**
 * A failed test's message for the learner: the grader's teaching message first, the assertion library's
 * restatement only where it adds something (the values compared), and its diff only for values that span
 * lines (objects, arrays), where it shows what differs.
 */
export function describeTestError(error: TestError): string {
  let message = stripVTControlCharacters(error.message ?? "(no message)").replace(libraryTag, "");
  message = booleanTail.exec(message)?.groups?.message ?? message;
  const typeMismatch = wrongType.exec(message)?.groups;
  if (typeMismatch) {
    message =
      `This check needed ${typeMismatch.wanted === "string" ? "a text" : `a ${typeMismatch.wanted}`}, but the value ` +
      `was ${typeMismatch.got}: something your code should have returned or sent is missing.`;
  }
  const spansLines = (value: unknown) => typeof value === "string" && value.includes("\n");
  const showDiff = error.diff && (spansLines(error.expected) || spansLines(error.actual));
  return showDiff ? `${message}\n\n${stripVTControlCharacters(error.diff!)}` : message;
}
