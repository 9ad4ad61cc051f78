import { randomUUID } from "node:crypto";
import { z } from "zod";
import { notifyEvent, notifyJob } from "./channels.ts";
import { eventPayload } from "./insert-event.ts";
import { type Queryable } from "./queryable.ts";

export const enqueueInputSchema = z.object({
  userId: z.uuid(),
  labId: z.string().min(1).max(200),
  /** { "<path>": "<content>" }; paths and sizes are checked by the runner's validate stage. */
  files: z.record(z.string(), z.string()),
});
export type EnqueueInput = z.infer<typeof enqueueInputSchema>;

/**
 * A learner's Run: stores the submission as a queued job with its `queued` event and wakes the workers.
 * One statement, so it is atomic on its own and part of the caller's transaction when there is one.
 */
export async function enqueueSubmission(db: Queryable, input: EnqueueInput): Promise<{ id: string }> {
  const { userId, labId, files } = enqueueInputSchema.parse(input);
  const id = randomUUID();
  await db.query(
    `WITH submission AS (
       INSERT INTO submissions (id, user_id, lab_id, files) VALUES ($1, $2, $3, $4::jsonb) RETURNING id
     ), event AS (
       INSERT INTO submission_events (submission_id, attempt, payload)
       SELECT id, 0, $5::jsonb FROM submission RETURNING id, submission_id
     )
     SELECT ${notifyEvent}, ${notifyJob} FROM event`,
    [id, userId, labId, JSON.stringify(files), eventPayload({ type: "queued" })],
  );
  return { id };
}
