// Shared by the grader files: requests to the learner's server (through fetch, and through node:http for
// bodies that keep arriving), and the members table read directly as the superuser.
import { type IncomingHttpHeaders, request as httpRequest } from "node:http";
import { learner, postgres, uid } from "@backend-labs/graders";

const api = learner();

export const MAX_BODY_BYTES = 16 * 1024;

export interface Reply {
  status: number;
  contentType: string;
  headers: Headers;
  body: unknown;
  text: string;
}

/** POST /members with a JSON body (or raw text/bytes as given) and Content-Type application/json unless set. */
export async function postMember(
  body: unknown,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<Reply> {
  const payload = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
  const response = await api.fetch("/members", { method: "POST", headers, body: payload });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    parsed = `(not JSON: ${text.slice(0, 80)})`;
  }
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    headers: response.headers,
    body: parsed,
    text,
  };
}

/** A fresh, valid email for this grade, so tests never collide on the unique email. */
export function uniqueEmail(label: string): string {
  return `${uid(label)}@example.com`;
}

export interface MemberRow {
  id: number;
  email: string;
  display_name: string;
  age: number | null;
  bio: string;
  tags: string[];
}

/**
 * Rows whose email equals any of the given ones, ignoring case, surrounding spaces and Unicode normal form
 * (so an email stored without normalising is found too, and its assertion can say what is wrong with it).
 */
export async function membersByEmail(...emails: string[]): Promise<MemberRow[]> {
  const { rows } = await postgres().query<MemberRow & { id: string }>(
    `SELECT id, email, display_name, age, bio, tags FROM members
      WHERE normalize(lower(btrim(email)), NFC) = ANY($1::text[]) ORDER BY id`,
    [emails.map((email) => email.trim().normalize("NFC").toLowerCase())],
  );
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}

export async function memberCount(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>("SELECT count(*)::int AS n FROM members");
  return rows[0]?.n ?? 0;
}

export interface Problem {
  title?: unknown;
  status?: unknown;
  errors?: { pointer?: unknown; detail?: unknown }[];
}

/** The pointers a problem body lists, sorted; undefined when it has no `errors` array. */
export function pointersOf(reply: Reply): string[] | undefined {
  if (typeof reply.body !== "object" || reply.body === null) return undefined;
  const { errors } = reply.body as Problem;
  if (!Array.isArray(errors)) return undefined;
  return errors.map((error) => String(error.pointer)).sort();
}

/**
 * The raw requests below say "Connection: keep-alive" (node:http without an agent would ask for close), so
 * whether the connection is closed after the answer is the server's own choice, visible in its headers.
 */
const keepAlive = { connection: "keep-alive" };

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RawOutcome {
  /** The response, if its headers arrived within the time limit. */
  reply?: RawReply;
  /** Bytes of body written before the response arrived (or the time ran out). */
  sentBytes: number;
  elapsedMs: number;
}

/**
 * POST /members through node:http, writing `chunk` now and then every `everyMs` for as long as no response
 * has arrived: a body that keeps coming, as from a slow or hostile client (with `once`, the chunk is written
 * a single time and the body then just stays unfinished). With a Content-Length header the declared length
 * is never reached; without one the body is chunked and never ends. Resolves when the response is in, or
 * after `timeoutMs` without one.
 */
export function postEndlessBody(
  headers: Record<string, string>,
  chunk: Buffer,
  { everyMs = 5, timeoutMs = 5_000, once = false } = {},
): Promise<RawOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const request = httpRequest(api.url("/members"), {
      method: "POST",
      headers: { ...keepAlive, ...headers },
      agent: false,
    });
    let sentBytes = 0;
    let settled = false;
    const send = () => {
      if (!settled && request.writable) {
        request.write(chunk);
        sentBytes += chunk.length;
      }
    };
    const timer = once ? undefined : setInterval(send, everyMs);
    const finish = (reply?: RawReply) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      clearTimeout(deadline);
      request.destroy();
      resolve({ ...(reply && { reply }), sentBytes, elapsedMs: Date.now() - started });
    };
    const deadline = setTimeout(() => finish(), timeoutMs);
    request.on("response", (response) => {
      clearInterval(timer);
      const parts: Buffer[] = [];
      const done = () =>
        finish({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(parts).toString("utf8"),
        });
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", done);
      // The server may close the connection while the rest of our body is on its way: keep what arrived.
      response.on("error", done);
      response.on("close", done);
    });
    // Writing into a connection the server has closed fails with EPIPE or ECONNRESET; the response, if any,
    // has been handled above, and no response at all is reported when the time runs out.
    request.on("error", () => undefined);
    send();
  });
}

/**
 * POST /members through node:http with a complete body, tolerating a server that answers and closes before
 * it has read all of it (as it may for a body over the limit). The body is sent with a Content-Length, or
 * with `chunked` as one chunk without one.
 */
export function postBytes(
  headers: Record<string, string>,
  body: Buffer,
  { chunked = false, timeoutMs = 5_000 } = {},
): Promise<RawOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const request = httpRequest(api.url("/members"), {
      method: "POST",
      headers: { ...keepAlive, ...headers },
      agent: false,
    });
    let settled = false;
    const finish = (reply?: RawReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.destroy();
      resolve({ ...(reply && { reply }), sentBytes: body.length, elapsedMs: Date.now() - started });
    };
    const deadline = setTimeout(() => finish(), timeoutMs);
    request.on("response", (response) => {
      const parts: Buffer[] = [];
      const done = () =>
        finish({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(parts).toString("utf8"),
        });
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", done);
      response.on("error", done);
      response.on("close", done);
    });
    request.on("error", () => undefined);
    if (chunked) {
      // A write before end() makes node:http send Transfer-Encoding: chunked instead of a Content-Length.
      request.write(body);
      request.end();
    } else request.end(body);
  });
}
