import { Redis } from "ioredis";

/** What a successful acquire() hands its caller. */
export interface Lease {
  resource: string;
  /** Random id of this acquisition: the value of `lock:<resource>` while the lease is held. */
  owner: string;
  /** Fencing token: larger than the token of every earlier lease on this resource. */
  token: number;
}

let client: Redis | undefined;

/** One connection per process, opened on first use. */
export function redis(): Redis {
  if (!client) {
    const url = process.env.REDIS_URL;
    if (!url) throw new Error("REDIS_URL is not set");
    client = new Redis(url);
  }
  return client;
}

/**
 * Tries once to take the lock on `resource` for `ttlMs` milliseconds. Returns the lease, or null when
 * someone else holds the lock. Keys: `lock:<resource>` (the lock) and `fence:<resource>` (the token counter).
 */
export function acquire(resource: string, ttlMs: number): Promise<Lease | null> {
  // TODO 1: take the lock only if nobody holds it, with an expiry, storing a fresh random owner id.
  // TODO 2: hand out the next fencing token in the same atomic step.
  void resource;
  void ttlMs;
  return Promise.reject(new Error("acquire() is not implemented yet"));
}

/** Gives the lock back if this lease still holds it; resolves false otherwise. */
export function release(lease: Lease): Promise<boolean> {
  // TODO 3: delete `lock:<resource>` only while it still holds lease.owner, atomically.
  void lease;
  return Promise.reject(new Error("release() is not implemented yet"));
}

/** Resets the lease's expiry to `ttlMs` from now if this lease still holds the lock; false otherwise. */
export function extend(lease: Lease, ttlMs: number): Promise<boolean> {
  // TODO 3: the same ownership check as release(), then PEXPIRE.
  void lease;
  void ttlMs;
  return Promise.reject(new Error("extend() is not implemented yet"));
}

/**
 * The protected storage: writes `content` into the hash `doc:<name>` unless the document has already
 * accepted a write with a newer fencing token, in which case it throws an error mentioning "stale token".
 */
export function writeDocument(name: string, token: number, content: string): Promise<void> {
  // TODO 4: compare `token` with the document's stored `token` and write, as one atomic step.
  void name;
  void token;
  void content;
  return Promise.reject(new Error("writeDocument() is not implemented yet"));
}
