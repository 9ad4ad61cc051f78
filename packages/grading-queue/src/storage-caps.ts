import { capOutput, type GradeResult, gradeResultSchema, outputLimit } from "@backend-labs/grade-result";
import { type GradingEvent } from "./grading-event.ts";

/** Free text that learner code can inflate (assertion messages with diffs, compiler errors) is cut here. */
export const messageLimit = 8_000;

/** Validates a result and applies the caps, so submissions.result stays small whatever the learner printed. */
export function capResultForStorage(result: GradeResult): GradeResult {
  const valid = gradeResultSchema.parse(result);
  return {
    ...valid,
    ...(valid.message !== undefined && { message: capOutput(valid.message, messageLimit) }),
    tests: valid.tests.map((test) => ({
      ...test,
      ...(test.message !== undefined && { message: capOutput(test.message, messageLimit) }),
      ...(test.output !== undefined && { output: capOutput(test.output, outputLimit) }),
    })),
  };
}

export function capEventForStorage(event: GradingEvent): GradingEvent {
  switch (event.type) {
    case "test":
      return event.message === undefined
        ? event
        : { ...event, message: capOutput(event.message, messageLimit) };
    case "stage":
      return event.detail === undefined ? event : { ...event, detail: capOutput(event.detail, outputLimit) };
    case "retrying":
      return { ...event, reason: capOutput(event.reason, messageLimit) };
    default:
      return event;
  }
}
