// Shared by the grader files: requests to the learner's service, the lines it printed, and test data.
import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { got, learner, postgres, uid, waitFor } from "@backend-labs/graders";

export { got, uid };

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const levels = ["debug", "info", "warn", "error"];

/** A valid X-Request-Id of the grader's own, so the lines of one request can be found. */
export const graderRequestId = (): string => `grader-${randomUUID()}`;

export async function call(
  method: string,
  path: string,
  { headers = {}, body }: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<Reply> {
  const response = await learner().fetch(path, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export type LogLine = Record<string, unknown>;

export interface Output {
  /** The complete lines that are JSON objects. */
  lines: LogLine[];
  /** The complete, non-empty lines that are not: multi-line text, console.log of objects, stack frames. */
  garbage: string[];
  /** Length of the whole output: pass it as `from` to look only at what came after. */
  end: number;
}

/** Everything the service printed so far, stdout and stderr, as text. */
export const printed = (): Promise<string> => learner().output();

/** What the service printed (stdout and stderr), from character `from` on, split into lines. */
export async function output(from = 0): Promise<Output> {
  const text = await printed();
  // The last line may still be on its way: only lines that end with a newline are complete.
  const complete = text.slice(from, text.lastIndexOf("\n") + 1);
  const lines: LogLine[] = [];
  const garbage: string[] = [];
  for (const line of complete.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (typeof value === "object" && value !== null && !Array.isArray(value)) lines.push(value as LogLine);
    else garbage.push(line);
  }
  return { lines, garbage, end: text.length };
}

/** The lines of one request: those whose request_id is requestId. */
export const linesOf = (lines: LogLine[], requestId: string): LogLine[] =>
  lines.filter((line) => line.request_id === requestId);

export const withMsg = (lines: LogLine[], msg: string): LogLine[] => lines.filter((line) => line.msg === msg);

/**
 * Waits until `ready` holds for the lines printed so far (or 1.5 s have passed), then returns them. Output
 * travels from the service's stdout through the runner, so it may arrive a moment after the response.
 */
export async function waitForLines(ready: (output: Output) => boolean, from = 0): Promise<Output> {
  await waitFor(async () => ready(await output(from)), 1_500, 25);
  // A duplicate line would be printed in the same instant: one more look catches it.
  await sleep(50);
  return output(from);
}

/** Waits for the "request completed" line of each id, then returns everything printed. */
export function waitForRequests(requestIds: string[], from = 0): Promise<Output> {
  return waitForLines(
    ({ lines }) => requestIds.every((id) => withMsg(linesOf(lines, id), "request completed").length > 0),
    from,
  );
}

/** A line, shortened, for assertion messages. */
export function show(line: unknown): string {
  const text = typeof line === "string" ? line : (JSON.stringify(line) ?? String(line));
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
}

export async function createOrder(item: string, quantity = 1): Promise<string> {
  const id = uid("order");
  await postgres().query("INSERT INTO orders (id, item, quantity) VALUES ($1, $2, $3)", [id, item, quantity]);
  return id;
}

/** A user with a session: the bearer token is returned, only its SHA-256 is stored, as the service expects. */
export async function createSession(email: string): Promise<string> {
  const token = `tok_${randomUUID().replaceAll("-", "")}`;
  const { rows } = await postgres().query<{ id: string }>(
    "INSERT INTO users (email, password_hash) VALUES ($1, 'x:y') RETURNING id",
    [email],
  );
  await postgres().query("INSERT INTO sessions (token_sha256, user_id) VALUES ($1, $2)", [
    createHash("sha256").update(token).digest("hex"),
    rows[0]!.id,
  ]);
  return token;
}
