// Shared by the grader files: HTTP calls to the learner's server, and ways to arrange and inspect the
// documents table as the superuser, independently of the learner's code.
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { got, learner, lockWaiters, postgres, uid, waitFor } from "@backend-labs/graders";

export { got, uid };

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

/**
 * Sends one request to the learner's server. `json` is serialized with Content-Type: application/json;
 * `raw` is sent as it is (give its Content-Type in `headers`); `unlabelled` is sent with no Content-Type at all.
 */
export async function send(
  method: string,
  path: string,
  options: { json?: unknown; raw?: string; unlabelled?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  // fetch labels a string body text/plain by itself; bytes go out with no Content-Type header.
  let body: string | Uint8Array | undefined =
    options.unlabelled === undefined ? options.raw : new TextEncoder().encode(options.unlabelled);
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

/** A header of the reply, asserted present first so a missing one is named as missing. */
export function headerOf(reply: Reply, name: string, what: string): string {
  const value = reply.headers.get(name);
  expect(value, `${what}, but the response has no ${name} header (${got(reply)})`).not.toBeNull();
  return value!;
}

/**
 * Checks the format the README fixes for every response with a body: Content-Type: application/json, and for
 * errors the body `{ "error": "<message>" }`. `what` names the response, e.g. "the 405 for DELETE /documents".
 */
export function expectJsonBody(reply: Reply, what: string): void {
  const type = headerOf(
    reply,
    "content-type",
    `${what} has a body, so it must say Content-Type: application/json`,
  );
  expect(type, `${what} must be labelled Content-Type: application/json (${got(reply)})`).toMatch(
    /^application\/json\s*(;|$)/i,
  );
}

export function expectJsonError(reply: Reply, what: string): void {
  expectJsonBody(reply, what);
  expect(
    typeof (reply.json as { error?: unknown } | null | undefined)?.error,
    `${what} must have the body { "error": "<message>" } (${got(reply)})`,
  ).toBe("string");
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

/** How many connections the learner's server holds open to the lab database (the grader's own aside). */
export async function learnerConnections(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND usename <> current_user`,
  );
  return rows[0]?.n ?? 0;
}

/**
 * Makes a race deterministic: the grader locks the document's row in an open transaction (SELECT ... FOR
 * UPDATE, or with `commitEdit` an UPDATE that writes that edit and bumps the version, as another instance
 * of the API would), starts the requests, waits until `waiters` database sessions queue on a lock (or every
 * request has been answered, or 3 s passed), then commits. By then each request has done whatever it does
 * before it writes the row, and the writes go through one after the other.
 */
export async function raceOnLockedRow<T>(
  id: string,
  waiters: number,
  start: () => Promise<T>[],
  commitEdit?: { title: string },
): Promise<T[]> {
  const client = await postgres().connect();
  let open = false;
  try {
    await client.query("BEGIN");
    open = true;
    if (commitEdit)
      await client.query("UPDATE documents SET title = $2, version = version + 1 WHERE id = $1", [
        id,
        commitEdit.title,
      ]);
    else await client.query("SELECT id FROM documents WHERE id = $1 FOR UPDATE", [id]);
    let settled = 0;
    const calls = start().map((call) => call.finally(() => settled++));
    const outcomes = Promise.allSettled(calls);
    await waitFor(async () => settled === calls.length || (await lockWaiters()) >= waiters, 3_000, 20);
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

/**
 * Makes Postgres refuse to insert a document with this title, as a broken database would: a trigger raises
 * an error. Returns the function that removes it again.
 */
export async function failInsertsOfTitle(title: string): Promise<() => Promise<void>> {
  const name = `grader_fails_${randomBytes(6).toString("hex")}`;
  await postgres().query(
    `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the grader made this INSERT fail, as a broken database would'; END $$`,
  );
  await postgres().query(
    `CREATE TRIGGER ${name} BEFORE INSERT ON documents FOR EACH ROW WHEN (NEW.title = '${title}')
       EXECUTE FUNCTION ${name}()`,
  );
  return async () => {
    await postgres().query(`DROP TRIGGER IF EXISTS ${name} ON documents`);
    await postgres().query(`DROP FUNCTION IF EXISTS ${name}()`);
  };
}
