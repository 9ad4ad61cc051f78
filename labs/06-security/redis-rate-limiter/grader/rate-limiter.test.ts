import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { learner, redis, type Remote, startLearner, task } from "@backend-labs/graders";

interface Decision {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}

interface RateLimiter {
  allow(apiKey: string, cost?: number): Promise<Decision>;
}

// The numbers the README fixes.
const CAPACITY = 5;
const REFILL_PER_SECOND = 2;
const MS_PER_TOKEN = 1000 / REFILL_PER_SECOND;
const BUCKET_TTL_MS = 2500;
/** Concurrent calls in the cross-instance burst. */
const BURST = 60;
const WRITE_PAUSE_MS = 300;
/** How far ahead the clock of the skewed instance runs. */
const CLOCK_SKEW_MS = 60_000;
/** A scenario shorter than this sees less than one token of refill (with room for the clocks' rounding). */
const QUICK_MS = 400;

const limiter = learner().module<RateLimiter>();

/** A fresh API key per test, so tests share nothing. */
const newApiKey = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;
const bucketKey = (apiKey: string): string => `ratelimit:${apiKey}`;

/** Redis's clock in milliseconds: the clock the README says buckets use. */
async function redisNowMs(): Promise<number> {
  const [seconds, micros] = await redis().time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Writes a bucket exactly as the README specifies it, as if an earlier call had left it there. */
async function seedBucket(apiKey: string, tokens: number, ageMs: number): Promise<void> {
  const now = await redisNowMs();
  await redis()
    .multi()
    .hset(bucketKey(apiKey), "tokens", String(tokens), "ts", String(now - ageMs))
    .pexpire(bucketKey(apiKey), BUCKET_TTL_MS)
    .exec();
}

async function readBucket(apiKey: string): Promise<{ tokens: number; ts: number } | undefined> {
  const fields = await redis().hgetall(bucketKey(apiKey));
  if (Object.keys(fields).length === 0) return undefined;
  return { tokens: Number(fields.tokens), ts: Number(fields.ts) };
}

async function callSequentially(apiKey: string, times: number, cost = 1): Promise<Decision[]> {
  const decisions: Decision[] = [];
  for (let i = 0; i < times; i++) decisions.push(await limiter.allow(apiKey, cost));
  return decisions;
}

/**
 * Holds every write (and every script) on Redis for WRITE_PAUSE_MS while reads go on, as a slow link would.
 * An atomic limiter just waits; one that reads, then writes in another round trip, shows its race every time.
 */
async function pauseWrites(): Promise<void> {
  await redis().call("CLIENT", "PAUSE", String(WRITE_PAUSE_MS), "WRITE");
}

/** Concurrent calls on throwaway keys: opens the HTTP sockets and Redis connection a burst will use. */
async function warmUp(instance: Remote<RateLimiter>, calls: number): Promise<void> {
  await Promise.all(Array.from({ length: calls }, () => instance.allow(newApiKey("warmup"))));
}

/**
 * NODE_OPTIONS for a copy of the learner's code whose Date.now() and new Date() run skewMs ahead, as on a
 * server whose clock drifted. Redis's clock is untouched.
 */
function clockSkewOption(skewMs: number): string {
  const preload =
    `const skewMs = ${skewMs}; const RealDate = Date; const realNow = () => RealDate.now();` +
    "class SkewedDate extends RealDate {" +
    "  constructor(...args) { if (args.length === 0) { super(realNow() + skewMs); } else { super(...args); } }" +
    "  static now() { return realNow() + skewMs; }" +
    "}" +
    "globalThis.Date = SkewedDate;";
  return `--import=data:text/javascript,${encodeURIComponent(preload)}`;
}

/**
 * Runs a scenario whose exact answers assume the bucket barely refilled while it ran (under one token, i.e.
 * under 500 ms). On a machine too busy for that, the scenario is tried again on a fresh key, up to 3 times.
 */
async function quickly<T>(
  label: string,
  scenario: (apiKey: string) => Promise<T>,
): Promise<T & { elapsed: number }> {
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const result = await scenario(newApiKey(label));
    const elapsed = Date.now() - started;
    if (elapsed < QUICK_MS || attempt === 3) return { ...result, elapsed };
  }
}

const admitted = (decisions: Decision[]): number => decisions.filter((decision) => decision.allowed).length;

task(1, "Spend tokens from a bucket kept in Redis", () => {
  it("a burst of 5 is allowed (remaining 4, 3, 2, 1, 0), the 6th is denied with retryAfterMs of about 500", async () => {
    const { burst, denied, elapsed } = await quickly("burst", async (apiKey) => {
      const burst = await callSequentially(apiKey, CAPACITY);
      return { burst, denied: await limiter.allow(apiKey) };
    });

    burst.forEach((decision, i) => {
      expect(
        decision,
        `call ${i + 1} of a burst on a new key: a missing bucket counts as full (${CAPACITY} tokens), each call ` +
          `spends 1, remaining is the whole tokens left, and retryAfterMs is 0 when allowed`,
      ).toEqual({ allowed: true, remaining: CAPACITY - 1 - i, retryAfterMs: 0 });
    });
    expect(
      denied.allowed,
      `call ${CAPACITY + 1} within ${elapsed} ms must be denied: the bucket is empty`,
    ).toBe(false);
    expect(denied.remaining, "a denied call reports the whole tokens left, here 0").toBe(0);
    expect(
      denied.retryAfterMs,
      `retryAfterMs must say how long until 1 token is back: at ${REFILL_PER_SECOND} tokens/s that is at most ` +
        `${MS_PER_TOKEN} ms, minus the ${elapsed} ms the burst took (got ${denied.retryAfterMs})`,
    ).toBeGreaterThan(0);
    expect(
      denied.retryAfterMs,
      `retryAfterMs must not exceed ${MS_PER_TOKEN} ms for a single token`,
    ).toBeLessThanOrEqual(MS_PER_TOKEN);
    expect(
      denied.retryAfterMs,
      `retryAfterMs is too small: only ${elapsed} ms passed since the bucket was full, so a token is ` +
        `${MS_PER_TOKEN - elapsed} ms or more away; compute ceil((cost - tokens) * 1000 / ${REFILL_PER_SECOND})`,
    ).toBeGreaterThanOrEqual(MS_PER_TOKEN - elapsed - 2);
  });

  it("stores the bucket as the hash ratelimit:<apiKey> with `tokens` and `ts` in Redis server milliseconds", async () => {
    const apiKey = newApiKey("state");
    const before = await redisNowMs();
    await limiter.allow(apiKey);
    const after = await redisNowMs();

    const type = await redis().type(bucketKey(apiKey));
    expect(type, `after allow("${apiKey}") the key ${bucketKey(apiKey)} must exist and be a hash`).toBe(
      "hash",
    );
    const bucket = await readBucket(apiKey);
    expect(
      bucket?.tokens,
      "field `tokens` must hold the tokens left after the call: 5 - 1 = 4, plus at most a sliver of refill",
    ).toBeGreaterThanOrEqual(CAPACITY - 1);
    expect(bucket?.tokens, "field `tokens` must be about 4 after one call on a full bucket").toBeLessThan(
      CAPACITY - 0.9,
    );
    expect(
      bucket?.ts,
      `field \`ts\` must be the Redis server time of the call in milliseconds (from TIME: seconds * 1000 + ` +
        `microseconds / 1000), between ${before} and ${after}; got ${bucket?.ts}`,
    ).toBeGreaterThanOrEqual(before - 1);
    expect(
      bucket?.ts,
      "field `ts` is later than Redis's clock after the call: use Redis TIME in milliseconds",
    ).toBeLessThanOrEqual(after + 1);
  });

  it("a cost of 3 spends several tokens at once, and a denied call spends nothing", async () => {
    const { first, denied, last } = await quickly("cost", async (apiKey) => ({
      first: await limiter.allow(apiKey, 3),
      denied: await limiter.allow(apiKey, 3),
      last: await limiter.allow(apiKey, 2),
    }));
    expect(first, "allow(key, 3) on a full bucket of 5 is allowed and leaves 2").toEqual({
      allowed: true,
      remaining: 2,
      retryAfterMs: 0,
    });
    expect(denied.allowed, "a second allow(key, 3) must be denied: only 2 tokens are left").toBe(false);
    expect(
      denied.remaining,
      "a denied call must not spend tokens: remaining is still 2 (do not subtract before checking)",
    ).toBe(2);
    expect(
      denied.retryAfterMs,
      `with 2 tokens and cost 3, one more token is needed: retryAfterMs must be in (0, ${MS_PER_TOKEN}]`,
    ).toBeGreaterThan(0);
    expect(denied.retryAfterMs, `one missing token is at most ${MS_PER_TOKEN} ms away`).toBeLessThanOrEqual(
      MS_PER_TOKEN,
    );
    expect(last, "allow(key, 2) must still fit in the 2 tokens the denied call left untouched").toEqual({
      allowed: true,
      remaining: 0,
      retryAfterMs: 0,
    });
  });

  it("each API key has its own bucket", async () => {
    const quiet = newApiKey("quiet");
    const { noisy, noisyDenied } = await quickly("noisy", async (noisy) => {
      await callSequentially(noisy, CAPACITY);
      return { noisy, noisyDenied: await limiter.allow(noisy) };
    });
    expect(noisyDenied.allowed, "the noisy key spent its 5 tokens: its 6th call must be denied").toBe(false);

    expect(
      await limiter.allow(quiet),
      "another API key must not be affected by the noisy one: its first call is allowed with 4 left",
    ).toEqual({ allowed: true, remaining: CAPACITY - 1, retryAfterMs: 0 });
    const [noisyBucket, quietBucket] = await Promise.all([readBucket(noisy), readBucket(quiet)]);
    expect(noisyBucket?.tokens, `${bucketKey(noisy)} must be nearly empty`).toBeLessThan(1);
    expect(
      quietBucket?.tokens,
      `${bucketKey(quiet)} must be a separate bucket holding about 4 tokens`,
    ).toBeGreaterThanOrEqual(CAPACITY - 1);
  });
});

task(2, "Refill over time with Redis's clock, capped at capacity", () => {
  it("an emptied bucket earns a token back after about 500 ms", async () => {
    const apiKey = newApiKey("refill");
    const started = Date.now();
    await callSequentially(apiKey, CAPACITY);
    const deadline = started + 2_500;
    let firstAllowed: { decision: Decision; at: number } | undefined;
    while (!firstAllowed && Date.now() < deadline) {
      const decision = await limiter.allow(apiKey);
      if (decision.allowed) firstAllowed = { decision, at: Date.now() };
      else await sleep(Math.min(50, Math.max(1, decision.retryAfterMs)));
    }
    expect(
      firstAllowed,
      `after emptying the bucket, polling allow() for 2.5 s never got a token back: add ` +
        `elapsedMs * ${REFILL_PER_SECOND} / 1000 tokens since \`ts\` on every call, and make sure denied calls spend nothing`,
    ).toBeDefined();
    const waited = (firstAllowed?.at ?? 0) - started;
    expect(
      waited,
      `a token came back ${waited} ms after the bucket was full: at ${REFILL_PER_SECOND} tokens/s that takes ` +
        `${MS_PER_TOKEN} ms, so the refill is too fast`,
    ).toBeGreaterThanOrEqual(MS_PER_TOKEN - 10);
    expect(
      firstAllowed?.decision.remaining,
      "the first refilled token is spent at once: remaining is 0",
    ).toBe(0);
  });

  it("an instance whose clock runs 60 s ahead does not refill early: the clock is Redis's", async () => {
    const skewed = (
      await startLearner({ NODE_OPTIONS: clockSkewOption(CLOCK_SKEW_MS) })
    ).module<RateLimiter>();
    await skewed.allow(newApiKey("warmup"));
    const { drained, onSkewed } = await quickly("skew", async (apiKey) => ({
      drained: await callSequentially(apiKey, CAPACITY),
      onSkewed: await skewed.allow(apiKey),
    }));
    expect(admitted(drained), "the first instance must admit a burst of 5 on a new key").toBe(CAPACITY);
    expect(
      onSkewed.allowed,
      `right after one instance emptied the bucket, a second instance whose clock runs ${CLOCK_SKEW_MS / 1000} s ` +
        "ahead (servers' clocks drift) was allowed: it measured the refill with its own clock (Date.now()). " +
        "Take `now` from Redis TIME inside the script, so every instance measures time the same way",
    ).toBe(false);
  });

  it("refill continues from the stored `ts`: a bucket emptied 1 s ago holds 2 tokens", async () => {
    const { decisions } = await quickly("resume", async (apiKey) => {
      await seedBucket(apiKey, 0, 1_000);
      return { decisions: await callSequentially(apiKey, 3) };
    });
    expect(
      decisions.map((decision) => decision.allowed),
      `the hash said tokens=0 at ts = Redis time - 1000 ms, so 2 tokens have been earned since: allow, allow, deny. ` +
        `Read \`ts\` as Redis server milliseconds and refill from it`,
    ).toEqual([true, true, false]);
  });

  it("an idle bucket never holds more than the capacity of 5", async () => {
    const { decisions } = await quickly("idle", async (apiKey) => {
      // 4 tokens, 2 s ago: 4 more were earned since, but a bucket holds at most 5.
      await seedBucket(apiKey, 4, 2_000);
      return { decisions: await callSequentially(apiKey, 8) };
    });
    expect(
      decisions[0]?.remaining,
      "the refilled bucket must be capped at 5 before spending, so the first call leaves 4: use min(capacity, tokens + refill)",
    ).toBe(CAPACITY - 1);
    expect(
      admitted(decisions),
      `after idling, a client must get a burst of at most ${CAPACITY}, not the ${admitted(decisions)} it got: ` +
        "cap the refilled tokens at the capacity",
    ).toBe(CAPACITY);
  });
});

task(3, "Let idle buckets expire", () => {
  it("every call, allowed or denied, leaves the key with a TTL of about 2500 ms", async () => {
    const apiKey = newApiKey("ttl");
    for (let call = 1; call <= CAPACITY + 2; call++) {
      const decision = await limiter.allow(apiKey);
      const pttl = await redis().pttl(bucketKey(apiKey));
      expect(
        pttl,
        `after call ${call} (${decision.allowed ? "allowed" : "denied"}) ${bucketKey(apiKey)} has PTTL ${pttl}: ` +
          `-1 means no TTL, so buckets of API keys never seen again stay in Redis forever; set it to ${BUCKET_TTL_MS} ms ` +
          "in the same atomic step as the write",
      ).toBeGreaterThan(BUCKET_TTL_MS - 1_000);
      expect(
        pttl,
        `the TTL must be the ${BUCKET_TTL_MS} ms an empty bucket takes to refill, not more (PEXPIRE, not EXPIRE in seconds)`,
      ).toBeLessThanOrEqual(BUCKET_TTL_MS);
    }
  });

  it("an idle bucket disappears from Redis, and the key then starts full again", async () => {
    const apiKey = newApiKey("expire");
    await callSequentially(apiKey, CAPACITY);
    const deadline = Date.now() + BUCKET_TTL_MS + 2_000;
    let exists = await redis().exists(bucketKey(apiKey));
    while (exists === 1 && Date.now() < deadline) {
      await sleep(100);
      exists = await redis().exists(bucketKey(apiKey));
    }
    expect(
      exists,
      `${bucketKey(apiKey)} was still in Redis ${BUCKET_TTL_MS + 2_000} ms after its last call: set a TTL`,
    ).toBe(0);
    expect(
      await limiter.allow(apiKey),
      "once the bucket has expired, the key is treated as a full bucket again",
    ).toEqual({ allowed: true, remaining: CAPACITY - 1, retryAfterMs: 0 });
  });
});

task(4, "Admit exactly the capacity under concurrency, across instances", () => {
  it(`${BURST} concurrent calls split across two instances of the API admit exactly 5`, async () => {
    const second = (await startLearner({ INSTANCE: "b" })).module<RateLimiter>();
    // Open every connection first (both instances' Redis connections, the HTTP sockets to both), so the
    // burst below arrives as one tight burst, the way a traffic spike does.
    await Promise.all([warmUp(limiter, BURST / 2), warmUp(second, BURST / 2)]);

    const apiKey = newApiKey("shared");
    const started = Date.now();
    await pauseWrites();
    const decisions = await Promise.all(
      Array.from({ length: BURST }, (_, i) => (i % 2 === 0 ? limiter : second).allow(apiKey)),
    );
    const elapsed = Date.now() - started;
    const refilled = Math.floor(elapsed / MS_PER_TOKEN);
    const allowed = admitted(decisions);

    expect(
      allowed,
      `${allowed} of ${BURST} concurrent calls from two instances were admitted by a bucket of ${CAPACITY}` +
        (refilled ? ` (+${refilled} refilled during the ${elapsed} ms burst)` : "") +
        `. The grader held Redis writes for ${WRITE_PAUSE_MS} ms while the calls arrived, as a slow network would: ` +
        "a limiter that reads the bucket and writes it back in separate round trips lets every call in that window " +
        "spend the same tokens. Read, refill, spend and write in one atomic step (a Lua script)",
    ).toBeLessThanOrEqual(CAPACITY + refilled);
    expect(
      allowed,
      `a full bucket must admit ${CAPACITY} of ${BURST} concurrent calls, not ${allowed}`,
    ).toBeGreaterThanOrEqual(CAPACITY);
    const bucket = await readBucket(apiKey);
    expect(bucket?.tokens, `${bucketKey(apiKey)} must never go negative`).toBeGreaterThanOrEqual(0);
  });

  it("30 concurrent calls of cost 2 on one instance never overdraw the bucket", async () => {
    const apiKey = newApiKey("overdraw");
    await warmUp(limiter, 30);
    const started = Date.now();
    await pauseWrites();
    const decisions = await Promise.all(Array.from({ length: 30 }, () => limiter.allow(apiKey, 2)));
    const elapsed = Date.now() - started;
    const spendable = CAPACITY + Math.floor(elapsed / MS_PER_TOKEN);
    const allowed = admitted(decisions);
    expect(
      allowed * 2,
      `${allowed} calls of cost 2 were admitted, spending ${allowed * 2} tokens from a bucket that had at most ` +
        `${spendable}. The grader held Redis writes for ${WRITE_PAUSE_MS} ms while the calls arrived: concurrent ` +
        "calls inside one process interleave too, so the check and the spend must be one atomic step in Redis",
    ).toBeLessThanOrEqual(spendable);
    expect(allowed, "a full bucket of 5 must admit at least 2 calls of cost 2").toBeGreaterThanOrEqual(2);
  });
});

task(5, "Reject invalid input", () => {
  it("rejects a cost of 0, -1, 1.5 or more than the capacity, without touching Redis", async () => {
    const apiKey = newApiKey("badcost");
    for (const cost of [0, -1, 1.5, CAPACITY + 1, Number.NaN]) {
      await expect(
        limiter.allow(apiKey, cost),
        `allow(key, ${cost}) must throw: cost is an integer from 1 to ${CAPACITY}. A cost of 0 or less would ` +
          `let a caller mint tokens, and more than ${CAPACITY} can never be satisfied`,
      ).rejects.toThrow();
    }
    expect(
      await redis().exists(bucketKey(apiKey)),
      "invalid calls must be rejected before anything is written to Redis",
    ).toBe(0);
    expect(
      await limiter.allow(apiKey),
      "after the rejected calls the key is untouched: a valid call sees a full bucket",
    ).toEqual({ allowed: true, remaining: CAPACITY - 1, retryAfterMs: 0 });
  });

  it("rejects an empty API key", async () => {
    await expect(
      limiter.allow(""),
      'allow("") must throw: an empty API key would share the bucket `ratelimit:` with every other keyless caller',
    ).rejects.toThrow();
    expect(
      await redis().exists("ratelimit:"),
      'no bucket may be created for the empty key "ratelimit:"',
    ).toBe(0);
    const apiKey = newApiKey("valid");
    expect(await limiter.allow(apiKey), "a valid key is still allowed").toEqual({
      allowed: true,
      remaining: CAPACITY - 1,
      retryAfterMs: 0,
    });
  });
});
