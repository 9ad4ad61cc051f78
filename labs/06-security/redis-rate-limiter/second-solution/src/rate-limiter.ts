import { Redis } from "ioredis";

/** Tokens a bucket holds when full: the largest burst one API key may send. */
export const CAPACITY = 5;
/** Tokens added back per second, continuously (one token every 500 ms). */
export const REFILL_PER_SECOND = 2;
/** Time an empty bucket takes to refill completely; an idle bucket may be forgotten after it. */
export const BUCKET_TTL_MS = Math.ceil((CAPACITY / REFILL_PER_SECOND) * 1000);

export interface Decision {
  allowed: boolean;
  /** Whole tokens left in the bucket after this call. */
  remaining: number;
  /** 0 when allowed; otherwise milliseconds until the bucket holds `cost` tokens. */
  retryAfterMs: number;
}

let client: Redis | undefined;

/** One connection per process, opened on first use. */
export function redis(): Redis {
  if (!client) {
    const url = process.env.REDIS_URL;
    if (!url) throw new Error("REDIS_URL is not set");
    client = new Redis(url);
    const main = client;
    // When the main connection is closed, close the transaction connections too.
    main.once("end", () => {
      for (const c of idle.splice(0)) c.disconnect();
      for (const c of all) c.disconnect();
      all.clear();
      if (client === main) client = undefined;
    });
  }
  return client;
}

// WATCH state belongs to a connection, so each transaction needs a connection nobody else is using
// while it runs. A small pool of dedicated connections (duplicates of the main one) provides that.
const MAX_TX_CONNECTIONS = 8;
const idle: Redis[] = [];
const all = new Set<Redis>();
const waiters: Array<(c: Redis) => void> = [];

async function acquire(): Promise<Redis> {
  const free = idle.pop();
  if (free) return free;
  if (all.size < MAX_TX_CONNECTIONS) {
    const c = redis().duplicate();
    all.add(c);
    c.once("end", () => {
      all.delete(c);
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
    });
    return c;
  }
  return new Promise<Redis>((resolve) => waiters.push(resolve));
}

function release(c: Redis): void {
  const next = waiters.shift();
  if (next) next(c);
  else idle.push(c);
}

const MAX_ATTEMPTS = 1000;

function parseNumber(value: string | null): number | undefined {
  if (value === null) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Decides whether the API key may spend `cost` tokens now, and spends them if so.
 *
 * State lives in the Redis hash `ratelimit:<apiKey>` with the fields `tokens` (may be fractional) and `ts`
 * (Redis server time in milliseconds when `tokens` was computed). See the README for the exact rules.
 */
export async function allow(apiKey: string, cost = 1): Promise<Decision> {
  if (typeof apiKey !== "string" || apiKey.length === 0) {
    throw new TypeError("apiKey must be a non-empty string");
  }
  if (typeof cost !== "number" || !Number.isInteger(cost) || cost < 1 || cost > CAPACITY) {
    throw new RangeError(`cost must be an integer from 1 to ${CAPACITY}`);
  }

  const key = `ratelimit:${apiKey}`;
  const conn = await acquire();
  let broken = false;
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await conn.watch(key);
      let decision: Decision;
      let tokens: number;
      let now: number;
      try {
        const [seconds, micros] = await conn.time();
        now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
        const [storedTokens, storedTs] = await conn.hmget(key, "tokens", "ts");
        const prevTokens = parseNumber(storedTokens);
        const prevTs = parseNumber(storedTs);
        if (prevTokens === undefined || prevTs === undefined) {
          tokens = CAPACITY;
        } else {
          const elapsed = Math.max(0, now - prevTs);
          tokens = Math.min(CAPACITY, prevTokens + (elapsed * REFILL_PER_SECOND) / 1000);
        }
        if (tokens >= cost) {
          tokens -= cost;
          decision = { allowed: true, remaining: Math.floor(tokens), retryAfterMs: 0 };
        } else {
          decision = {
            allowed: false,
            remaining: Math.floor(tokens),
            retryAfterMs: Math.ceil(((cost - tokens) * 1000) / REFILL_PER_SECOND),
          };
        }
      } catch (err) {
        await conn.unwatch().catch(() => undefined);
        throw err;
      }

      const result = await conn
        .multi()
        .hset(key, "tokens", String(tokens), "ts", String(now))
        .pexpire(key, BUCKET_TTL_MS)
        .exec();
      if (result === null) continue; // someone else changed the bucket: start over
      for (const [err] of result) if (err) throw err;
      return decision;
    }
    throw new Error(`rate limiter: bucket ${key} is too contended, gave up after ${MAX_ATTEMPTS} attempts`);
  } catch (err) {
    broken = conn.status !== "ready";
    throw err;
  } finally {
    if (broken) {
      all.delete(conn);
      conn.disconnect();
      const next = waiters.shift();
      if (next) void acquire().then(next);
    } else {
      release(conn);
    }
  }
}
