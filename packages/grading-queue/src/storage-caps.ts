import { capOutput, type GradeResult, gradeResultSchema, outputLimit } from "@backend-labs/grade-result";
import { type GradingEvent } from "./grading-event.ts";

/** Free text that learner code can inflate (assertion messages with diffs, compiler errors) is cut here. */
export const messageLimit = 8_000;

/** Cuts `text` to `limit` with grade-result's notice, leaving text that was already cut to that limit alone. */
function capOnce(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const alreadyCapped = new RegExp(
    `^[\\s\\S]{${limit}}\\n\\[output truncated: showing ${limit} of \\d+ characters\\]$`,
  );
  return alreadyCapped.test(text) ? text : capOutput(text, limit);
}

/** Validates a result and applies the caps, so submissions.result stays small whatever the learner printed. */
export function capResultForStorage(result: GradeResult): GradeResult {
  const valid = gradeResultSchema.parse(result);
  return {
    ...valid,
    ...(valid.message !== undefined && { message: capOnce(valid.message, messageLimit) }),
    tests: valid.tests.map((test) => ({
      ...test,
      ...(test.message !== undefined && { message: capOnce(test.message, messageLimit) }),
      ...(test.output !== undefined && { output: capOnce(test.output, outputLimit) }),
    })),
  };
}

export function capEventForStorage(event: GradingEvent): GradingEvent {
  switch (event.type) {
    case "test":
      return event.message === undefined
        ? event
        : { ...event, message: capOnce(event.message, messageLimit) };
    case "stage":
      return event.detail === undefined ? event : { ...event, detail: capOnce(event.detail, outputLimit) };
    case "retrying":
      return { ...event, reason: capOnce(event.reason, messageLimit) };
    default:
      return event;
  }
}
