import { type StoredGradingEvent } from "./grading-event.ts";
import { listEvents } from "./list-events.ts";
import { type Queryable } from "./queryable.ts";
import { type SubmissionEventFeed } from "./submission-event-feed.ts";

export interface FollowOptions {
  /** Resume after this event (e.g. the last one a reconnecting client saw); from the start otherwise. */
  afterEventId?: string;
  /** Stops following; the generator then returns. */
  signal?: AbortSignal;
}

/**
 * A submission's events: first those already stored, then each new one as it is stored, ending after
 * `finished` or `cancelled` (or at once when the submission does not exist). Subscribes before the first read, and
 * re-reads after every announcement or resync, so nothing is missed or repeated.
 */
export async function* followSubmissionEvents(
  db: Queryable,
  feed: SubmissionEventFeed,
  submissionId: string,
  { afterEventId, signal }: FollowOptions = {},
): AsyncGenerator<StoredGradingEvent, void, undefined> {
  let pending = true;
  let wake: (() => void) | undefined;
  const unsubscribe = feed.subscribe(submissionId, () => {
    pending = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  try {
    let lastId = afterEventId;
    while (!signal?.aborted) {
      if (!pending) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      pending = false;
      const state = await submissionState(db, submissionId);
      if (state === undefined) return;
      for (const stored of await listEvents(db, submissionId, lastId)) {
        yield stored;
        lastId = stored.id;
        if (stored.event.type === "finished" || stored.event.type === "cancelled") return;
      }
      // Ended before the read, and every event up to the last was already seen before afterEventId.
      if (state === "finished" || state === "cancelled") return;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    unsubscribe();
  }
}

async function submissionState(db: Queryable, submissionId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ state: string }>(`SELECT state FROM submissions WHERE id = $1`, [
    submissionId,
  ]);
  return rows[0]?.state;
}
