// Shared by the grader files: HTTP calls to the learner's server, and ways to arrange and inspect the
// documents table as the superuser, independently of the learner's code.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { learner, postgres } from "@backend-labs/graders";

export interface Doc {
  id: string;
  title: string;
  body: string;
  version: number;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** A unique title per test, so tests never share rows. */
export function uid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Sends one request to the learner's server. `json` is serialized with Content-Type: application/json. */
export async function send(
  method: string,
  path: string,
  options: { json?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] ??= "application/json";
  }
  const response = await learner().fetch(path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** "got 500 {"error":...}": what the learner's server answered, for assertion messages. */
export function got(reply: Reply): string {
  const body = reply.text.length > 200 ? `${reply.text.slice(0, 200)}...` : reply.text;
  return `got ${reply.status}${body ? ` ${body}` : " with no body"}`;
}

/** Creates a document directly in the database (not through the learner's code). */
export async function insertDocument(label: string, version = 1): Promise<Doc> {
  const { rows } = await postgres().query<Doc>(
    "INSERT INTO documents (title, body, version) VALUES ($1, $2, $3) RETURNING id, title, body, version",
    [uid(label), `body of ${label}`, version],
  );
  return rows[0]!;
}

/** The row as stored, or undefined when there is none. */
export async function storedDocument(id: string): Promise<Doc | undefined> {
  const { rows } = await postgres().query<Doc>(
    "SELECT id, title, body, version FROM documents WHERE id = $1",
    [id],
  );
  return rows[0];
}

export async function countWithTitle(title: string): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    "SELECT count(*)::int AS n FROM documents WHERE title = $1",
    [title],
  );
  return rows[0]!.n;
}

/** The comma-separated values of a header (Allow), trimmed and upper-cased, sorted. */
export function headerList(value: string | null): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim().toUpperCase())
    .filter((item) => item !== "")
    .sort();
}

async function lockWaiters(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND wait_event_type = 'Lock'`,
  );
  return rows[0]?.n ?? 0;
}

/**
 * Makes a race deterministic: the grader locks the document's row (SELECT ... FOR UPDATE in an open
 * transaction), starts the requests, waits until `waiters` database sessions queue on a lock (or every
 * request has been answered, or 3 s passed), then commits. By then each request has done whatever it does
 * before it writes the row, and the writes go through one after the other.
 */
export async function raceOnLockedRow<T>(
  id: string,
  waiters: number,
  start: () => Promise<T>[],
): Promise<T[]> {
  const client = await postgres().connect();
  let open = false;
  try {
    await client.query("BEGIN");
    open = true;
    await client.query("SELECT id FROM documents WHERE id = $1 FOR UPDATE", [id]);
    let settled = 0;
    const calls = start().map((call) => call.finally(() => settled++));
    const outcomes = Promise.allSettled(calls);
    const deadline = Date.now() + 3_000;
    while (settled < calls.length && Date.now() < deadline && (await lockWaiters()) < waiters)
      await sleep(20);
    await client.query("COMMIT");
    open = false;
    return (await outcomes).map((outcome) => {
      if (outcome.status === "rejected") throw outcome.reason;
      return outcome.value;
    });
  } finally {
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}
