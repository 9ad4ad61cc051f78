import { randomUUID } from "node:crypto";
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

/*
 * Design: optimistic transactions (WATCH / MULTI / EXEC). A WATCH belongs to a connection, so every
 * transaction runs on a connection of its own, taken from a small pool of duplicates of the main client:
 * two concurrent calls in one process must never share a WATCH.
 */
const idle: Redis[] = [];

async function withConnection<T>(fn: (conn: Redis) => Promise<T>): Promise<T> {
  const conn = idle.pop() ?? redis().duplicate();
  let healthy = true;
  try {
    return await fn(conn);
  } catch (err) {
    healthy = false;
    throw err;
  } finally {
    if (healthy) {
      idle.push(conn);
    } else {
      // Unknown state (maybe a WATCH still set): drop the connection rather than reuse it.
      conn.disconnect();
    }
  }
}

function lockKey(resource: string): string {
  return `lock:${resource}`;
}
function fenceKey(resource: string): string {
  return `fence:${resource}`;
}
function docKey(name: string): string {
  return `doc:${name}`;
}

/**
 * Tries once to take the lock on `resource` for `ttlMs` milliseconds. Returns the lease, or null when
 * someone else holds the lock. Keys: `lock:<resource>` (the lock) and `fence:<resource>` (the token counter).
 */
export function acquire(resource: string, ttlMs: number): Promise<Lease | null> {
  return withConnection(async (conn) => {
    const key = lockKey(resource);
    await conn.watch(key);
    const exists = await conn.exists(key);
    if (exists) {
      await conn.unwatch();
      return null;
    }
    const owner = randomUUID();
    // SET NX as well: belt and braces, the WATCH already aborts the EXEC if the key changed.
    const results = await conn.multi().set(key, owner, "PX", ttlMs, "NX").incr(fenceKey(resource)).exec();
    if (results === null) return null; // someone touched the lock between WATCH and EXEC
    for (const [err] of results) if (err) throw err;
    const [[, setReply], [, token]] = results as [[null, unknown], [null, unknown]];
    if (setReply !== "OK") {
      // Cannot happen under WATCH, but never hand out a lease that was not taken.
      throw new Error(`lock:${resource} was not taken although the transaction ran`);
    }
    return { resource, owner, token: Number(token) };
  });
}

/** Runs `act` in a transaction only while `lock:<resource>` still holds `lease.owner`. */
function whileOwner(lease: Lease, act: (tx: ReturnType<Redis["multi"]>) => void): Promise<boolean> {
  return withConnection(async (conn) => {
    const key = lockKey(lease.resource);
    await conn.watch(key);
    const current = await conn.get(key);
    if (current !== lease.owner) {
      await conn.unwatch();
      return false;
    }
    const tx = conn.multi();
    act(tx);
    const results = await tx.exec();
    if (results === null) return false; // the lock changed hands (or expired) in between
    for (const [err] of results) if (err) throw err;
    return results[0]?.[1] === 1;
  });
}

/** Gives the lock back if this lease still holds it; resolves false otherwise. */
export function release(lease: Lease): Promise<boolean> {
  return whileOwner(lease, (tx) => {
    tx.del(lockKey(lease.resource));
  });
}

/** Resets the lease's expiry to `ttlMs` from now if this lease still holds the lock; false otherwise. */
export function extend(lease: Lease, ttlMs: number): Promise<boolean> {
  return whileOwner(lease, (tx) => {
    tx.pexpire(lockKey(lease.resource), ttlMs);
  });
}

/**
 * The protected storage: writes `content` into the hash `doc:<name>` unless the document has already
 * accepted a write with a newer fencing token, in which case it throws an error mentioning "stale token".
 */
export async function writeDocument(name: string, token: number, content: string): Promise<void> {
  const key = docKey(name);
  // Optimistic loop: retry when another writer changed the document between our read and our write.
  for (;;) {
    const done = await withConnection(async (conn) => {
      await conn.watch(key);
      const stored = await conn.hget(key, "token");
      if (stored !== null && token < Number(stored)) {
        await conn.unwatch();
        throw new Error(`stale token ${token} for doc:${name}: it has accepted token ${stored}`);
      }
      const results = await conn
        .multi()
        .hset(key, { content, token: String(token) })
        .exec();
      if (results === null) return false;
      for (const [err] of results) if (err) throw err;
      return true;
    });
    if (done) return;
  }
}
