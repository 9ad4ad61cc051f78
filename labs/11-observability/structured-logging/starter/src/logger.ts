export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

/** Runs fn, and everything asynchronous it starts, as part of the request with this id. */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  // TODO 3: remember requestId for fn and all the async work it starts (not in a module-level variable).
  void requestId;
  return fn();
}

/** The id of the request the caller is running for, or undefined outside any request. */
export function currentRequestId(): string | undefined {
  // TODO 3
  return undefined;
}

function write(level: Level, msg: string, fields: Fields = {}): void {
  // TODO 1: one JSON object per line: time, level, msg, request_id (inside a request), then the fields.
  // TODO 4: errors as data (type, message, stack, own properties such as code, cause).
  // TODO 5: secrets redacted at any depth, without changing the caller's objects.
  console.log(`${new Date().toISOString()} ${level.toUpperCase()} ${msg}`, fields);
}

export const log = {
  debug: (msg: string, fields?: Fields): void => write("debug", msg, fields),
  info: (msg: string, fields?: Fields): void => write("info", msg, fields),
  warn: (msg: string, fields?: Fields): void => write("warn", msg, fields),
  error: (msg: string, fields?: Fields): void => write("error", msg, fields),
};
