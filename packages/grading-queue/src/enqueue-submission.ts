import { randomUUID } from "node:crypto";
import { z } from "zod";
import { notifyEvent, notifyJob } from "./channels.ts";
import { eventPayload } from "./insert-event.ts";
import { type Queryable } from "./queryable.ts";

export const enqueueInputSchema = z.object({
  /**
   * Chosen by the caller to make a retried Run idempotent: a request sent again after a dropped connection
   * carries the same id and queues nothing twice. Random when absent.
   */
  id: z.uuid().optional(),
  userId: z.uuid(),
  labId: z.string().min(1).max(200),
  /** { "<path>": "<content>" }; paths and sizes are checked by the runner's validate stage. */
  files: z.record(z.string(), z.string()),
});
export type EnqueueInput = z.infer<typeof enqueueInputSchema>;

/**
 * A learner's Run: stores the submission as a queued job with its `queued` event and wakes the workers.
 * One statement, so it is atomic on its own and part of the caller's transaction when there is one.
 * `created` is false when a submission with the given id already existed: nothing was queued, and the
 * caller should check that it is the same learner's.
 */
export async function enqueueSubmission(
  db: Queryable,
  input: EnqueueInput,
): Promise<{ id: string; created: boolean }> {
  const { id = randomUUID(), userId, labId, files } = enqueueInputSchema.parse(input);
  const { rowCount } = await db.query(
    `WITH submission AS (
       INSERT INTO submissions (id, user_id, lab_id, files) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (id) DO NOTHING RETURNING id
     ), event AS (
       INSERT INTO submission_events (submission_id, attempt, payload)
       SELECT id, 0, $5::jsonb FROM submission RETURNING id, submission_id
     )
     SELECT ${notifyEvent}, ${notifyJob} FROM event`,
    [id, userId, labId, JSON.stringify(files), eventPayload({ type: "queued" })],
  );
  return { id, created: rowCount === 1 };
}
