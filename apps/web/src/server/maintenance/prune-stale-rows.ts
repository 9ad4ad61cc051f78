import type pg from "pg";

export interface PruneOptions {
  /** Runs that ended longer ago than this keep only their last progress event (the result stays whole). */
  eventDays: number;
  /** Failed sign-ins older than the throttle's window count for nothing. */
  signInWindowMs: number;
}

export interface PruneCounts {
  sessions: number;
  signInFailures: number;
  events: number;
}

/**
 * Deletes what no longer serves anyone: expired sessions, failed sign-ins outside the throttle's window,
 * and the step-by-step progress of Runs that ended long ago. A Run keeps its result and its last event, so
 * its history row, its results and a late subscriber (which stops at that event) look the same as before.
 */
export async function pruneStaleRows(db: pg.Pool, options: PruneOptions): Promise<PruneCounts> {
  const sessions = await db.query("DELETE FROM sessions WHERE expires_at < now()");
  const signInFailures = await db.query(
    "DELETE FROM sign_in_failures WHERE failed_at < now() - $1 * interval '1 millisecond'",
    [options.signInWindowMs],
  );
  const events = await db.query(
    `DELETE FROM submission_events e
      USING submissions s
      WHERE e.submission_id = s.id
        AND s.state IN ('finished', 'cancelled')
        AND coalesce(s.finished_at, s.created_at) < now() - $1 * interval '1 day'
        AND e.id < (SELECT max(last.id) FROM submission_events last WHERE last.submission_id = s.id)`,
    [options.eventDays],
  );
  return {
    sessions: sessions.rowCount ?? 0,
    signInFailures: signInFailures.rowCount ?? 0,
    events: events.rowCount ?? 0,
  };
}

/** Lock id for pg_try_advisory_lock: of several web processes, one prunes at a time. */
const pruneLock = 0x626c_7072; // "blpr"

/**
 * Prunes now and then every `everyMs` in the background, in whichever web process takes the advisory
 * lock first; the others skip that round. Returns a function that stops it.
 */
export function prunePeriodically(
  db: pg.Pool,
  options: PruneOptions & { everyMs: number; log: (line: string) => void },
): () => void {
  const round = async () => {
    const client = await db.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
        pruneLock,
      ]);
      if (!rows[0]?.locked) return;
      try {
        const counts = await pruneStaleRows(db, options);
        if (counts.sessions + counts.signInFailures + counts.events > 0)
          options.log(
            `pruned ${counts.sessions} expired session(s), ${counts.signInFailures} old failed sign-in(s), ${counts.events} old progress event(s)`,
          );
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [pruneLock]);
      }
    } finally {
      client.release();
    }
  };
  const run = () => void round().catch((error: unknown) => options.log(`pruning failed: ${String(error)}`));
  run();
  const timer = setInterval(run, options.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
