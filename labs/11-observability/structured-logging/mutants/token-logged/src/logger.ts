import { AsyncLocalStorage } from "node:async_hooks";

export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

interface RequestContext {
  requestId: string;
}

// One store for the whole process. run() gives each request its own context, and Node carries it through
// every await, timer and callback started inside, so two overlapping requests never see each other's id.
const requestContext = new AsyncLocalStorage<RequestContext>();

/** Runs fn, and everything asynchronous it starts, as part of the request with this id. */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return requestContext.run({ requestId }, fn);
}

/** The id of the request the caller is running for, or undefined outside any request. */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

/** Keys whose values never reach the log, wherever they appear. */
// MUTANT: only password fields.
const secretKey = /password/i;
const redacted = "[REDACTED]";

/** Errors become plain data: JSON.stringify(new Error("x")) is "{}", which loses the message and the stack. */
function serializeError(error: Error, seen: WeakSet<object>): Fields {
  const serialized: Fields = { type: error.name, message: error.message, stack: error.stack };
  // Drivers attach what matters to their errors' own properties: pg puts the SQLSTATE in `code`.
  for (const [key, value] of Object.entries(error)) {
    if (!(key in serialized) && key !== "name") {
      serialized[key] = secretKey.test(key) ? redacted : prepare(value, seen);
    }
  }
  // The error this one wraps (new Error("...", { cause })) often says what actually went wrong.
  const { cause } = error as { cause?: unknown };
  if (cause !== undefined) serialized.cause = prepare(cause, seen);
  return serialized;
}

/**
 * A copy of value that is safe to log: secrets redacted at any depth, errors serialized, cycles cut.
 * Never modifies value itself: the caller is still using it.
 */
function prepare(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Date) return value.toISOString();
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  try {
    if (value instanceof Error) return serializeError(value, seen);
    if (Array.isArray(value)) return value.map((item) => prepare(item, seen));
    const copy: Fields = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = secretKey.test(key) ? redacted : prepare(item, seen);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

function write(level: Level, msg: string, fields: Fields = {}): void {
  const requestId = currentRequestId();
  const line: Fields = {
    time: new Date().toISOString(),
    level,
    msg,
    ...(requestId === undefined ? {} : { request_id: requestId }),
  };
  for (const [key, value] of Object.entries(prepare(fields, new WeakSet()) as Fields)) {
    // The fields every line has cannot be overwritten by a caller's field of the same name.
    if (!(key in line) && key !== "request_id") line[key] = value;
  }
  let text: string;
  try {
    text = JSON.stringify(line);
  } catch (error) {
    // Logging must never throw into the code that logs.
    text = JSON.stringify({ time: line.time, level, msg, request_id: requestId, log_error: String(error) });
  }
  // One write per line, so lines from concurrent requests cannot interleave.
  process.stdout.write(`${text}\n`);
}

export const log = {
  debug: (msg: string, fields?: Fields): void => write("debug", msg, fields),
  info: (msg: string, fields?: Fields): void => write("info", msg, fields),
  warn: (msg: string, fields?: Fields): void => write("warn", msg, fields),
  error: (msg: string, fields?: Fields): void => write("error", msg, fields),
};
