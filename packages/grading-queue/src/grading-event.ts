import { gradeProgressSchema, gradeStatus } from "@backend-labs/grade-result";
import { z } from "zod";

/**
 * What happens to a submission, as stored in submission_events.payload and streamed to the learner:
 * queued, then per claim `claimed`, the grade's progress (`stage`s and `test`s, defined with the result
 * contract in @backend-labs/grade-result), a `retrying` when a claim ended without a result, and finally
 * one `finished`, or `cancelled` when the learner stopped it first.
 */
export const gradingEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("queued") }),
  z.object({ type: z.literal("claimed"), attempt: z.number().int().positive(), workerId: z.string() }),
  ...gradeProgressSchema.options,
  z.object({ type: z.literal("retrying"), reason: z.string() }),
  z.object({ type: z.literal("finished"), status: gradeStatus }),
  z.object({ type: z.literal("cancelled") }),
]);
export type GradingEvent = z.infer<typeof gradingEventSchema>;

/** An event as stored: ids are bigint in Postgres, so strings here; they order a submission's events. */
export interface StoredGradingEvent {
  id: string;
  submissionId: string;
  /** The claim it belongs to (0 before the first claim). */
  attempt: number;
  createdAt: Date;
  event: GradingEvent;
}
