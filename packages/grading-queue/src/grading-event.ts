import { gradeStatus } from "@backend-labs/grade-result";
import { z } from "zod";

/** The runner's stages, in the order a grade reaches them (apps/runner/src/grade/grade-progress.ts). */
export const gradingStages = [
  "validate",
  "workspace",
  "provision",
  "typecheck",
  "start",
  "run",
  "teardown",
] as const;
export type GradingStage = (typeof gradingStages)[number];

/**
 * What happens to a submission, as stored in submission_events.payload and streamed to the learner:
 * queued, then per claim `claimed`, `stage`s and `test`s, a `retrying` when a claim ended without a
 * result, and finally one `finished`.
 */
export const gradingEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("queued") }),
  z.object({ type: z.literal("claimed"), attempt: z.number().int().positive(), workerId: z.string() }),
  z.object({ type: z.literal("stage"), stage: z.enum(gradingStages), detail: z.string().optional() }),
  z.object({
    type: z.literal("test"),
    name: z.string(),
    status: gradeStatus,
    durationMs: z.number().nonnegative(),
    message: z.string().optional(),
    taskId: z.number().int().optional(),
  }),
  z.object({ type: z.literal("retrying"), reason: z.string() }),
  z.object({ type: z.literal("finished"), status: gradeStatus }),
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
