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

// Taking the lock and drawing the token must be one step: a holder that paused between them could draw
// its token after a later holder did and end up with the larger one.
const acquireScript = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
`;

// Compare-and-delete: a lease that expired may already belong to someone else.
const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

const extendScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

// The storage side of fencing: it remembers the newest token it accepted and refuses older ones, in the
// same atomic step as the write.
const writeScript = `
local newest = tonumber(redis.call('HGET', KEYS[1], 'token'))
local token = tonumber(ARGV[1])
if newest ~= nil and token < newest then
  return newest
end
redis.call('HSET', KEYS[1], 'content', ARGV[2], 'token', ARGV[1])
return -1
`;

interface LockRedis extends Redis {
  acquireLock(lockKey: string, fenceKey: string, owner: string, ttlMs: number): Promise<number | null>;
  releaseLock(lockKey: string, owner: string): Promise<number>;
  extendLock(lockKey: string, owner: string, ttlMs: number): Promise<number>;
  fencedWrite(documentKey: string, token: number, content: string): Promise<number>;
}

let client: LockRedis | undefined;

/** One connection per process, opened on first use. */
function redis(): LockRedis {
  client ??= connect();
  return client;
}

function connect(): LockRedis {
  const url = process.env.REDIS_URL;
  // Stryker disable next-line all: the runner always sets REDIS_URL; this only names a misconfigured run
  if (!url) throw new Error("REDIS_URL is not set");
  const connection = new Redis(url) as LockRedis;
  connection.defineCommand("acquireLock", { numberOfKeys: 2, lua: acquireScript });
  connection.defineCommand("releaseLock", { numberOfKeys: 1, lua: releaseScript });
  connection.defineCommand("extendLock", { numberOfKeys: 1, lua: extendScript });
  connection.defineCommand("fencedWrite", { numberOfKeys: 1, lua: writeScript });
  return connection;
}

const lockKey = (resource: string): string => `lock:${resource}`;
const fenceKey = (resource: string): string => `fence:${resource}`;
const documentKey = (name: string): string => `doc:${name}`;

// Stryker disable all: the README fixes no behaviour for a ttlMs that is not a positive integer; this guard only names the caller's mistake
function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1) {
    throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
  }
}
// Stryker restore all

/** Tries once to take the lock on `resource` for `ttlMs`; null when someone else holds it. */
export async function acquire(resource: string, ttlMs: number): Promise<Lease | null> {
  // Stryker disable next-line CallExpression: the README fixes no behaviour for a ttlMs that is not a positive integer; for every ttlMs it covers this guard does nothing
  checkTtl(ttlMs);
  const owner = randomUUID();
  const token = await redis().acquireLock(lockKey(resource), fenceKey(resource), owner, ttlMs);
  return token === null ? null : { resource, owner, token };
}

/** Gives the lock back if this lease still holds it; false when it had expired (and maybe moved on). */
export async function release(lease: Lease): Promise<boolean> {
  return (await redis().releaseLock(lockKey(lease.resource), lease.owner)) === 1;
}

/** Resets the lease's expiry to `ttlMs` from now, if this lease still holds the lock. */
export async function extend(lease: Lease, ttlMs: number): Promise<boolean> {
  // Stryker disable next-line CallExpression: the README fixes no behaviour for a ttlMs that is not a positive integer; for every ttlMs it covers this guard does nothing
  checkTtl(ttlMs);
  return (await redis().extendLock(lockKey(lease.resource), lease.owner, ttlMs)) === 1;
}

/** Writes the document unless it has already accepted a write with a newer fencing token. */
export async function writeDocument(name: string, token: number, content: string): Promise<void> {
  // Stryker disable all: the README fixes no behaviour for a token that is not a positive integer; this guard only names the caller's mistake
  if (!Number.isSafeInteger(token) || token < 1) {
    throw new RangeError(`token must be a positive integer, got ${token}`);
  }
  // Stryker restore all
  const newest = await redis().fencedWrite(documentKey(name), token, content);
  if (newest !== -1) {
    throw new Error(`stale token ${token}: ${documentKey(name)} already accepted token ${newest}`);
  }
}
