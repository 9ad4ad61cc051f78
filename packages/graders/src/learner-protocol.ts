import superjson from "superjson";

/**
 * Calls into the learner's module travel as HTTP POST {harness}/call with a superjson body, so Dates,
 * BigInts, Maps, Sets and undefined survive the trip.
 */
export interface CallRequest {
  fn: string;
  args: unknown[];
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type CallResponse =
  | { ok: true; value: unknown }
  | {
      ok: false;
      kind: "threw" | "missing-export" | "bad-request" | "unserializable";
      error: SerializedError;
    };

export const harnessRoutes = {
  call: "/call",
  exports: "/exports",
  mutantCoverage: "/mutant-coverage",
  /** How many bytes the copy has written to stdout and stderr: the runner waits until it has them all. */
  printed: "/printed",
} as const;

/** Where a warm copy (learner-harness.ts --wait) is told what to import and with which environment. */
export const harnessStartRoute = "/start";
export interface HarnessStartRequest {
  /** The entry module, relative to the copy's working directory. */
  entry: string;
  env: Record<string, string>;
}

export const encode = (value: CallRequest | CallResponse): string => superjson.stringify(value);
export const decode = <T extends CallRequest | CallResponse>(text: string): T => superjson.parse<T>(text);

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { name: "NonErrorThrown", message: `threw a non-Error value: ${String(error)}` };
}

/**
 * superjson silently drops functions and symbols; a learner who returns one must hear about it.
 * Returns the path of the first such value, or undefined.
 */
export function findUnsendable(
  value: unknown,
  path = "the return value",
  seen = new Set<unknown>(),
): string | undefined {
  if (typeof value === "function" || typeof value === "symbol") return `${path} (a ${typeof value})`;
  if (typeof value !== "object" || value === null || seen.has(value)) return undefined;
  seen.add(value);
  const entries: [string, unknown][] =
    value instanceof Map
      ? [...value.entries()].map(([key, item]) => [String(key), item])
      : value instanceof Set
        ? [...value].map((item, index) => [String(index), item])
        : Object.entries(value);
  for (const [key, item] of entries) {
    const found = findUnsendable(item, `${path}.${key}`, seen);
    if (found) return found;
  }
  return undefined;
}
