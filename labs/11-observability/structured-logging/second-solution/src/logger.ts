import { AsyncLocalStorage } from "node:async_hooks";

export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

interface RequestContext {
  requestId: string;
}

const context = new AsyncLocalStorage<RequestContext>();

/** Runs fn, and everything asynchronous it starts, as part of the request with this id. */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return context.run({ requestId }, fn);
}

/** The id of the request the caller is running for, or undefined outside any request. */
export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}

const redacted = "[REDACTED]";
const secretNames = new Set(["authorization", "cookie", "set-cookie"]);
const secretParts = ["password", "secret", "token"];

function isSecret(key: string): boolean {
  const lower = key.toLowerCase();
  return secretNames.has(lower) || secretParts.some((part) => lower.includes(part));
}

/** A JSON-ready copy of value: errors as data, secrets redacted, the caller's objects untouched. */
function toData(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function" || typeof value === "symbol") return undefined;
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  try {
    if (value instanceof Error) return errorToData(value, seen);
    if (Array.isArray(value)) return value.map((item) => toData(item, seen) ?? null);
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (Buffer.isBuffer(value)) return `<Buffer ${value.length} bytes>`;
    if (value instanceof Map) return objectToData(Object.fromEntries(value), seen);
    if (value instanceof Set) return [...value].map((item) => toData(item, seen) ?? null);
    return objectToData(value as Record<string, unknown>, seen);
  } finally {
    seen.delete(value);
  }
}

function objectToData(object: Record<string, unknown>, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) {
    out[key] = isSecret(key) ? redacted : toData(item, seen);
  }
  return out;
}

function errorToData(error: Error, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: error.name, message: error.message, stack: error.stack };
  for (const [key, item] of Object.entries(error)) {
    if (key === "cause") continue;
    out[key] = isSecret(key) ? redacted : toData(item, seen);
  }
  if ("cause" in error && error.cause !== undefined) out.cause = toData(error.cause, seen);
  return out;
}

const reserved = new Set(["time", "level", "msg", "request_id"]);

function write(level: Level, msg: string, fields: Fields = {}): void {
  const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
  const requestId = currentRequestId();
  if (requestId !== undefined) line.request_id = requestId;
  const data = objectToData(fields, new WeakSet());
  for (const [key, value] of Object.entries(data)) {
    if (!reserved.has(key)) line[key] = value;
  }
  let text: string;
  try {
    text = JSON.stringify(line);
  } catch (error) {
    text = JSON.stringify({
      time: line.time,
      level,
      msg,
      ...(requestId !== undefined ? { request_id: requestId } : {}),
      log_error: `fields could not be serialized: ${String(error)}`,
    });
  }
  process.stdout.write(`${text}\n`);
}

export const log = {
  debug: (msg: string, fields?: Fields): void => write("debug", msg, fields),
  info: (msg: string, fields?: Fields): void => write("info", msg, fields),
  warn: (msg: string, fields?: Fields): void => write("warn", msg, fields),
  error: (msg: string, fields?: Fields): void => write("error", msg, fields),
};
