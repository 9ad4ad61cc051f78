import { gradingEventSchema, type StoredGradingEvent } from "./grading-event.ts";
import { type Queryable } from "./queryable.ts";

interface EventRow {
  id: string;
  submission_id: string;
  attempt: number;
  payload: unknown;
  created_at: Date;
}

/** A submission's events in the order they happened, optionally only those after `afterEventId`. */
export async function listEvents(
  db: Queryable,
  submissionId: string,
  afterEventId?: string,
): Promise<StoredGradingEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT id, submission_id, attempt, payload, created_at FROM submission_events
     WHERE submission_id = $1 AND ($2::bigint IS NULL OR id > $2::bigint)
     ORDER BY id`,
    [submissionId, afterEventId ?? null],
  );
  return rows.map((row) => ({
    id: row.id,
    submissionId: row.submission_id,
    attempt: row.attempt,
    createdAt: row.created_at,
    event: gradingEventSchema.parse(row.payload),
  }));
}
