import pg from "pg";

export interface FeedEvent {
  id: number;
  accountId: string;
  occurredAt: Date;
  action: string;
}

export interface Page {
  events: FeedEvent[];
  /** Pass it back to get the next page; null when this page holds the oldest event. */
  nextCursor: string | null;
}

export interface PageOptions {
  limit?: number;
  cursor?: string | null;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

/**
 * Signs cursors (HMAC-SHA256, `createHmac` from node:crypto). Every instance of the API must share it, or a
 * cursor issued by one instance is refused by the next. In production it comes from your secret store; the
 * lab fixes it so that every copy agrees. Keep it as it is.
 */
export const CURSOR_SECRET = "keyset-lab: replace me with a secret from your secret store";

let pool: pg.Pool | undefined;

/** One pool per process, opened on first use. The events table is described in the README. */
function db(): pg.Pool {
  if (!pool) {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is not set");
    pool = new pg.Pool({ connectionString });
    // An idle connection that breaks (server restart, network) is reported here; unhandled, it kills the process.
    pool.on("error", (error) => console.error("postgres pool error:", error.message));
  }
  return pool;
}

/** Creates the index the feed query needs. Runs on every deploy: a second call must change nothing. */
export async function migrate(): Promise<void> {
  // TODO 5: an index that serves WHERE account_id = ... ORDER BY occurred_at DESC, id DESC, and the seek to a
  // cursor, as one index range scan.
  void db;
  throw new Error("migrate() is not implemented yet");
}

/** The account's events, newest first; ties on occurred_at go to the higher id first. */
export async function listEvents(accountId: string, options: PageOptions = {}): Promise<Page> {
  // TODO 4: validate limit (default DEFAULT_LIMIT, 1..MAX_LIMIT) and the cursor (signed, for this account)
  //         before any SQL runs.
  // TODO 1: the first page: the `limit` newest events, in a deterministic order.
  // TODO 2: the next pages: the rows strictly after the cursor's position, and a nextCursor that holds the last
  //         row's whole sort key (occurred_at to the microsecond, and id); null after the oldest event.
  // TODO 3: a page depends on the cursor alone, never on how many rows came before it.
  throw new Error(`listEvents(${accountId}, ${JSON.stringify(options)}) is not implemented yet`);
}
