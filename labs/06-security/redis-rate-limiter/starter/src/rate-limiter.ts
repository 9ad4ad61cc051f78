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
  }
  return client;
}

/**
 * Decides whether the API key may spend `cost` tokens now, and spends them if so.
 *
 * State lives in the Redis hash `ratelimit:<apiKey>` with the fields `tokens` (may be fractional) and `ts`
 * (Redis server time in milliseconds when `tokens` was computed). See the README for the exact rules.
 */
export function allow(apiKey: string, cost = 1): Promise<Decision> {
  // TODO 5: reject an empty apiKey and a cost that is not an integer from 1 to CAPACITY.
  // TODO 1-4: in ONE atomic step on Redis (a Lua script is the usual tool):
  //   - read the bucket (a missing key means a full bucket), using Redis's clock (TIME), not Date.now()
  //   - add the tokens earned since `ts`, never going above CAPACITY
  //   - spend `cost` tokens if there are enough, otherwise work out retryAfterMs
  //   - write `tokens` and `ts` back and set the key's TTL to BUCKET_TTL_MS
  void apiKey;
  void cost;
  return Promise.reject(new Error("allow() is not implemented yet"));
}
