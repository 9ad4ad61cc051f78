import { notifyEvent } from "./channels.ts";
import { eventPayload } from "./insert-event.ts";
import { type Queryable } from "./queryable.ts";

/**
 * A learner stops one of their Runs that has no result yet. A queued job is never claimed; a running one
 * loses its lease, so its worker's next renewal fails, which aborts the grade and tears it down, and its
 * result, if it gets one before then, is not written (finish is fenced on state = 'running').
 * Returns false when there is nothing to cancel: not this user's Run, or it already ended.
 */
export async function cancelSubmission(
  db: Queryable,
  submissionId: string,
  userId: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH cancelled AS (
       UPDATE submissions
       SET state = 'cancelled', finished_at = now(), lease_token = NULL, lease_expires_at = NULL
       WHERE id = $1 AND user_id = $2 AND state IN ('queued', 'running')
       RETURNING id, attempts
     ), event AS (
       INSERT INTO submission_events (submission_id, attempt, payload)
       SELECT id, attempts, $3::jsonb FROM cancelled RETURNING id, submission_id
     )
     SELECT ${notifyEvent} FROM event`,
    [submissionId, userId, eventPayload({ type: "cancelled" })],
  );
  return rowCount === 1;
}
