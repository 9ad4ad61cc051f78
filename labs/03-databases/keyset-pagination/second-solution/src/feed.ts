import { createHmac, timingSafeEqual } from "node:crypto";
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

const INDEX_NAME = "events_account_occurred_at_id_idx";

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
  // A failed CONCURRENTLY build leaves an INVALID index of that name: IF NOT EXISTS would keep it, so drop it first.
  const { rows } = await db().query<{ valid: boolean }>(
    "select i.indisvalid as valid from pg_index i where i.indexrelid = to_regclass($1)",
    [INDEX_NAME],
  );
  if (rows.length > 0 && !rows[0]!.valid) {
    await db().query(`drop index concurrently if exists ${INDEX_NAME}`);
  }
  await db().query(
    `create index concurrently if not exists ${INDEX_NAME} on events (account_id, occurred_at desc, id desc)`,
  );
}

interface Position {
  /** occurred_at as UTC ISO text with microseconds: exactly what Postgres stores. */
  t: string;
  /** id as decimal text (bigint). */
  i: string;
}

function sign(payload: string): string {
  return createHmac("sha256", CURSOR_SECRET).update(payload).digest("base64url");
}

function encodeCursor(accountId: string, position: Position): string {
  const payload = Buffer.from(
    JSON.stringify({ a: accountId, t: position.t, i: position.i }),
    "utf8",
  ).toString("base64url");
  return `${payload}.${sign(payload)}`;
}

function invalidCursor(): Error {
  return new Error("invalid cursor");
}

const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function decodeCursor(cursor: unknown, accountId: string): Position {
  if (typeof cursor !== "string") throw invalidCursor();
  const parts = cursor.split(".");
  if (parts.length !== 2) throw invalidCursor();
  const [payload, signature] = parts as [string, string];
  if (payload.length === 0 || !/^[A-Za-z0-9_-]+$/.test(payload)) throw invalidCursor();
  // Compare the signature as text: base64url decoding ignores trailing bits, so comparing decoded bytes would let
  // a changed last character through.
  const expected = Buffer.from(sign(payload), "utf8");
  const given = Buffer.from(signature, "utf8");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor();
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw invalidCursor();
  }
  if (typeof data !== "object" || data === null) throw invalidCursor();
  const { a, t, i } = data as { a?: unknown; t?: unknown; i?: unknown };
  if (a !== accountId) throw invalidCursor();
  if (typeof t !== "string" || !TIMESTAMP_TEXT.test(t)) throw invalidCursor();
  if (typeof i !== "string" || !/^[1-9]\d{0,18}$/.test(i)) throw invalidCursor();
  return { t, i };
}

function parseLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new Error(`invalid limit: must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return limit;
}

interface Row {
  id_text: string;
  account_id: string;
  occurred_at: Date;
  occurred_key: string;
  action: string;
}

const COLUMNS = `id::text as id_text, account_id, occurred_at, action,
  to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_key`;

/** The account's events, newest first; ties on occurred_at go to the higher id first. */
export async function listEvents(accountId: string, options: PageOptions = {}): Promise<Page> {
  const limit = parseLimit(options.limit);
  const position =
    options.cursor === undefined || options.cursor === null ? null : decodeCursor(options.cursor, accountId);

  // One row more than the page: it tells whether another page follows, without a second query.
  const { rows } = position
    ? await db().query<Row>(
        `select ${COLUMNS} from events
         where account_id = $1::text and (occurred_at, id) < ($2::timestamptz, $3::bigint)
         order by occurred_at desc, id desc
         limit $4::int`,
        [accountId, position.t, position.i, limit + 1],
      )
    : await db().query<Row>(
        `select ${COLUMNS} from events
         where account_id = $1::text
         order by occurred_at desc, id desc
         limit $2::int`,
        [accountId, limit + 1],
      );

  const pageRows = rows.slice(0, limit);
  const events = pageRows.map((row) => ({
    id: Number(row.id_text),
    accountId: row.account_id,
    occurredAt: row.occurred_at,
    action: row.action,
  }));
  const last = pageRows[pageRows.length - 1];
  const nextCursor =
    rows.length > limit && last ? encodeCursor(accountId, { t: last.occurred_key, i: last.id_text }) : null;
  return { events, nextCursor };
}
