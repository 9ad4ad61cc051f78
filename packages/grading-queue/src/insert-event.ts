import { notifyEvent } from "./channels.ts";
import { type GradingEvent, gradingEventSchema } from "./grading-event.ts";
import { type Queryable } from "./queryable.ts";
import { capEventForStorage } from "./storage-caps.ts";

/** Validated, capped, serialised: the only way a payload reaches submission_events. */
export function eventPayload(event: GradingEvent): string {
  return JSON.stringify(capEventForStorage(gradingEventSchema.parse(event)));
}

/** Stores and announces an event without checking the lease: for callers that hold the row's lock. */
export async function insertEvent(
  db: Queryable,
  submissionId: string,
  attempt: number,
  event: GradingEvent,
): Promise<void> {
  await db.query(
    `WITH event AS (
       INSERT INTO submission_events (submission_id, attempt, payload) VALUES ($1, $2, $3::jsonb)
       RETURNING id, submission_id
     )
     SELECT ${notifyEvent} FROM event`,
    [submissionId, attempt, eventPayload(event)],
  );
}
