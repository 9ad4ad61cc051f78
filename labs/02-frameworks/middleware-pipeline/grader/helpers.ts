// Shared by the grader files: requests to the learner's server and the JSON lines it printed.
import { setTimeout as sleep } from "node:timers/promises";
import { learner, uid, waitFor } from "@backend-labs/graders";

export { got } from "@backend-labs/graders";

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A valid request id of the grader's own, unique per request, so the log lines of a request can be found. */
export function graderRequestId(): string {
  return uid("grader");
}

export async function get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await learner().fetch(path, { headers });
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

/** Every line the server printed that is a JSON object. */
async function jsonLines(): Promise<LogLine[]> {
  const output = await learner().output();
  return output.split("\n").flatMap((line): LogLine[] => {
    try {
      const value = JSON.parse(line) as LogLine | null;
      return typeof value === "object" && value !== null && !Array.isArray(value) ? [value] : [];
    } catch {
      return [];
    }
  });
}

/** The access lines (msg "request") and error lines (level "error") printed for one request id. */
export interface RequestLines {
  access: LogLine[];
  errors: LogLine[];
}

/**
 * The lines printed for requestId, once `ready` says they are all there (or after 2 s). Output travels from
 * the server's stdout through the runner, so it can arrive a moment after the response.
 */
export async function linesFor(
  requestId: string,
  ready: (lines: RequestLines) => boolean = (lines) => lines.access.length > 0,
): Promise<RequestLines> {
  const collect = async (): Promise<RequestLines> => {
    const mine = (await jsonLines()).filter((line) => line.request_id === requestId);
    return {
      access: mine.filter((line) => line.msg === "request"),
      errors: mine.filter((line) => line.level === "error"),
    };
  };
  await waitFor(async () => ready(await collect()), 2_000, 25);
  // A duplicate line would be printed in the same instant: one more look catches it.
  await sleep(50);
  return collect();
}

/** The lines server.ts prints when an error escaped the learner's pipeline. */
export async function escapedErrors(): Promise<string[]> {
  const output = await learner().output();
  return output.split("\n").filter((line) => line.startsWith("[server.ts]"));
}

/** Text that must never reach a client: the secrets in the routes' error messages, and stack frames. */
export const leaks = [/hunter2/, /db-internal/, /cardNumber/, /chargeCustomer/, /\bat .*:\d+:\d+/, /\.ts\b/];
