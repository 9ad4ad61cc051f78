import { Redis } from "ioredis";

export const CAPACITY = 5;
export const REFILL_PER_SECOND = 2;
export const BUCKET_TTL_MS = Math.ceil((CAPACITY / REFILL_PER_SECOND) * 1000);

export interface Decision {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}

let client: Redis | undefined;

function redis(): Redis {
  if (!client) {
    const url = process.env.REDIS_URL;
    if (!url) throw new Error("REDIS_URL is not set");
    client = new Redis(url);
  }
  return client;
}

// MISTAKE: read, compute in the app, write back in a second round trip. The MULTI makes the write atomic,
// but nothing stops another call from reading the same tokens in between.
export async function allow(apiKey: string, cost = 1): Promise<Decision> {
  if (typeof apiKey !== "string" || apiKey.length === 0) {
    throw new TypeError("apiKey must be a non-empty string");
  }
  if (!Number.isInteger(cost) || cost < 1 || cost > CAPACITY) {
    throw new RangeError(`cost must be an integer from 1 to ${CAPACITY}, got ${cost}`);
  }
  const key = `ratelimit:${apiKey}`;
  const [seconds, micros] = await redis().time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const [storedTokens, storedTs] = await redis().hmget(key, "tokens", "ts");
  let tokens = storedTokens === null || storedTokens === undefined ? CAPACITY : Number(storedTokens);
  const ts = storedTs === null || storedTs === undefined ? now : Number(storedTs);
  tokens = Math.min(CAPACITY, tokens + (Math.max(0, now - ts) * REFILL_PER_SECOND) / 1000);

  let allowed = false;
  let retryAfterMs = 0;
  if (tokens >= cost) {
    tokens -= cost;
    allowed = true;
  } else {
    retryAfterMs = Math.ceil(((cost - tokens) * 1000) / REFILL_PER_SECOND);
  }
  await redis()
    .multi()
    .hset(key, "tokens", String(tokens), "ts", String(now))
    .pexpire(key, BUCKET_TTL_MS)
    .exec();
  return { allowed, remaining: Math.floor(tokens), retryAfterMs };
}
