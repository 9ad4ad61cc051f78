import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { redis, type Remote, task, waitFor } from "@backend-labs/graders";
import {
  admitted,
  BUCKET_TTL_MS,
  bucketKey,
  CAPACITY,
  checkedAllow,
  CLOCK_SKEW_MS,
  clockSkewOption,
  commandLogDuring,
  commandsSentDuring,
  type Decision,
  learnerRedisConnections,
  expectDecision,
  limiter,
  MS_PER_TOKEN,
  pauseWrites,
  type RateLimiter,
  readBucket,
  REFILL_PER_SECOND,
  redisNowMs,
  seedBucket,
  settle,
  startSecondInstance,
  transactionsNotReadAfterWatch,
  uid,
  warmUp,
  whileWritesHeld,
  WRITE_PAUSE_MS,
} from "./helpers.ts";

/** Concurrent calls in the README's cross-instance burst. */
const BURST = 60;

let secondInstance: Remote<RateLimiter> | undefined;
/** The second instance of the API the concurrency tests share (started once). */
async function second(): Promise<Remote<RateLimiter>> {
  secondInstance ??= await startSecondInstance();
  return secondInstance;
}

/** Settles concurrent calls, and fails with the first error if any call threw instead of deciding. */
async function decideAll(calls: Promise<Decision>[], what: string): Promise<Decision[]> {
  const outcomes = await Promise.all(calls.map((call) => settle(call)));
  const failed = outcomes.filter((outcome) => outcome.error);
  expect(
    failed[0]?.error?.message,
    `${failed.length} of ${calls.length} ${what} threw instead of returning a decision: under contention a ` +
      "call must still allow or deny (a WATCH/MULTI loop retries until its EXEC goes through)",
  ).toBeUndefined();
  return outcomes.map((outcome) => outcome.value as Decision);
}

task(1, "Spend tokens from a bucket kept in Redis", () => {
  it("a new key starts full: a burst of 5 calls is allowed, each spending 1 token, and the bucket is then empty", async () => {
    const apiKey = uid("burst");
    const decisions: Decision[] = [];
    for (let call = 1; call <= CAPACITY + 1; call++) {
      const { decision } = await checkedAllow(apiKey, 1, { what: `call ${call} of a burst on a new key` });
      decisions.push(decision);
    }
    expect(
      decisions[0],
      `the first call on a new key sees a full bucket of ${CAPACITY} (a missing key is a full bucket): ` +
        `allowed, remaining ${CAPACITY - 1}, retryAfterMs 0`,
    ).toEqual({ allowed: true, remaining: CAPACITY - 1, retryAfterMs: 0 });
    expect(
      admitted(decisions.slice(0, CAPACITY)),
      `the first ${CAPACITY} calls on a new key must all be allowed: the bucket starts with ${CAPACITY} tokens`,
    ).toBe(CAPACITY);
  });

  it("stores the bucket as the hash ratelimit:<apiKey> with `tokens` and `ts` in Redis server milliseconds", async () => {
    const apiKey = uid("state");
    const before = await redisNowMs();
    expectDecision(await settle(limiter.allow(apiKey)), `allow("${apiKey}")`);
    const after = await redisNowMs();

    const type = await redis().type(bucketKey(apiKey));
    expect(type, `after allow("${apiKey}") the key ${bucketKey(apiKey)} must exist and be a hash`).toBe(
      "hash",
    );
    const fields = await redis().hgetall(bucketKey(apiKey));
    expect(
      Object.keys(fields).sort(),
      `${bucketKey(apiKey)} must have exactly the fields \`tokens\` and \`ts\` (the grader reads and writes them)`,
    ).toEqual(["tokens", "ts"]);
    const tokens = Number(fields.tokens);
    expect(
      tokens,
      `field \`tokens\` must hold the tokens left after the call: 5 - 1 = 4, plus at most a sliver of refill; got ${fields.tokens}`,
    ).toBeGreaterThanOrEqual(CAPACITY - 1);
    expect(
      tokens,
      `field \`tokens\` must be about 4 after one call on a full bucket, got ${fields.tokens}`,
    ).toBeLessThan(CAPACITY - 0.9);
    const ts = Number(fields.ts);
    expect(
      Number.isInteger(ts),
      `field \`ts\` is ${fields.ts}: it must be integer milliseconds, TIME seconds * 1000 + floor(microseconds / 1000)`,
    ).toBe(true);
    expect(
      ts >= before - 1 && ts <= after + 1,
      `field \`ts\` must be the Redis server time of the call in milliseconds (from TIME: seconds * 1000 + ` +
        `floor(microseconds / 1000)), between ${before} and ${after}; got ${fields.ts}`,
    ).toBe(true);
  });

  it("a cost of 3 spends 3 tokens at once, a denied call spends nothing, and a full bucket covers a cost of 5", async () => {
    const apiKey = uid("cost");
    const first = await checkedAllow(apiKey, 3, { what: "on a new key" });
    expect(first.decision, "allow(key, 3) on a full bucket of 5 is allowed and leaves 2").toEqual({
      allowed: true,
      remaining: 2,
      retryAfterMs: 0,
    });
    const denied = await checkedAllow(apiKey, CAPACITY, { what: "with about 2 tokens left" });
    expect(denied.decision.allowed, "allow(key, 5) with about 2 tokens left must be denied").toBe(false);
    await checkedAllow(apiKey, 2, { what: "after the denied call, which spent nothing" });

    const whole = await checkedAllow(uid("cost5"), CAPACITY, { what: "on a new key" });
    expect(
      whole.decision,
      `allow(key, ${CAPACITY}) on a new key must be allowed: a bucket holding exactly \`cost\` tokens is enough ` +
        "(at least cost, >=), and it leaves 0",
    ).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
  });

  it("each API key has its own bucket", async () => {
    const noisy = uid("noisy");
    const quiet = uid("quiet");
    await checkedAllow(noisy, CAPACITY, { what: "the noisy key spends its whole bucket" });
    const noisyBefore = await readBucket(noisy);
    const { decision } = await checkedAllow(quiet, 1, { what: "another key, right after the noisy one" });
    expect(
      decision,
      "another API key must not be affected by the noisy one: its first call is allowed with 4 left",
    ).toEqual({ allowed: true, remaining: CAPACITY - 1, retryAfterMs: 0 });
    expect(
      (await readBucket(noisy))?.raw,
      `a call for ${quiet} must leave ${bucketKey(noisy)} alone: each API key has its own bucket`,
    ).toEqual(noisyBefore?.raw);
    const again = await checkedAllow(noisy, CAPACITY, { what: "the noisy key again" });
    expect(
      again.decision.allowed,
      "the noisy key's empty bucket must not have been refilled by the quiet key",
    ).toBe(false);
  });

  it("20 calls in a row open no new Redis connection: one client per process, reused", async () => {
    await checkedAllow(uid("connect"), 1, { what: "a first call, which may connect" });
    const before = await learnerRedisConnections();
    for (let call = 1; call <= 20; call++)
      await checkedAllow(uid(`reuse-${call}`), 1, { what: `call ${call} of 20 in a row` });
    const opened = (await learnerRedisConnections()) - before;
    expect(
      opened,
      `20 calls one after the other left ${opened} more Redis connections open: connect once per process ` +
        "and reuse the client; a new Redis() per call leaves a connection behind for every request",
    ).toBeLessThanOrEqual(0);
  });

  it("remaining is floor(tokens) and retryAfterMs is ceil((cost - tokens) * 1000 / 2), fractions of a token included", async () => {
    // Fractions kept 0.0001 away from whole numbers, so rounding mistakes show whatever the timing.
    const allowedKey = uid("fraction");
    await seedBucket(allowedKey, 3.6001, 0);
    await checkedAllow(allowedKey, 1, { what: "on a bucket holding 3.6001 tokens" });
    const lowKey = uid("fraction");
    await seedBucket(lowKey, 1.5501, 0);
    await checkedAllow(lowKey, 1, { what: "on a bucket holding 1.5501 tokens" });
    const deniedKey = uid("fraction");
    await seedBucket(deniedKey, 0.6001, 0);
    const { decision } = await checkedAllow(deniedKey, CAPACITY, {
      what: "on a bucket holding 0.6001 tokens",
    });
    expect(decision.allowed, `allow(key, ${CAPACITY}) on a bucket of about 0.6 tokens must be denied`).toBe(
      false,
    );
  });

  it("a denied call also writes `tokens` and `ts` back", async () => {
    const apiKey = uid("denied-write");
    await seedBucket(apiKey, 0.2001, 300);
    const { decision } = await checkedAllow(apiKey, CAPACITY, {
      what: "on a bucket that held 0.2001 tokens 300 ms ago",
    });
    expect(decision.allowed, `a bucket of under 1 token cannot cover a cost of ${CAPACITY}`).toBe(false);
  });
});

task(2, "Refill over time with Redis's clock, capped at capacity", () => {
  it("an emptied bucket earns a token back after about 500 ms", async () => {
    const apiKey = uid("refill");
    const started = Date.now();
    await checkedAllow(apiKey, CAPACITY, { what: "empties a new bucket" });
    const deadline = started + 2_500;
    let firstAllowed: { decision: Decision; at: number } | undefined;
    while (!firstAllowed && Date.now() < deadline) {
      const decision = expectDecision(await settle(limiter.allow(apiKey)), `allow("${apiKey}")`);
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
    const skewed = await startSecondInstance({ NODE_OPTIONS: clockSkewOption(CLOCK_SKEW_MS) });
    await skewed.allow(uid("warm-up"));
    const apiKey = uid("skew");
    const { after: emptied } = await checkedAllow(apiKey, CAPACITY, {
      what: "the first instance empties a new bucket",
    });
    const outcome = await settle(skewed.allow(apiKey, CAPACITY));
    const answeredAt = await redisNowMs();
    const decision = expectDecision(
      outcome,
      `allow("${apiKey}", ${CAPACITY}) on an instance whose clock runs ${CLOCK_SKEW_MS / 1000} s ahead`,
    );
    // An empty bucket needs BUCKET_TTL_MS to hold 5 tokens again; only a very slow machine gets there.
    if (answeredAt - emptied.ts < BUCKET_TTL_MS)
      expect(
        decision.allowed,
        `right after one instance emptied the bucket, a second instance whose clock runs ${CLOCK_SKEW_MS / 1000} s ` +
          `ahead (servers' clocks drift) was allowed ${CAPACITY} tokens: it measured the refill with its own clock ` +
          "(Date.now()). Take `now` from Redis TIME, so every instance measures time the same way",
      ).toBe(false);
    const bucket = await readBucket(apiKey);
    expect(
      bucket !== undefined && Math.abs(bucket.ts - answeredAt) < CLOCK_SKEW_MS / 2,
      `after the call on the skewed instance \`ts\` is ${bucket?.raw.ts}, while Redis's clock reads ${answeredAt}: ` +
        "`ts` must come from Redis TIME, never from the API server's Date.now()",
    ).toBe(true);
  });

  it("refill continues from the stored `tokens` and `ts`: min(5, tokens + (now - ts) * 2 / 1000)", async () => {
    const apiKey = uid("resume");
    await seedBucket(apiKey, 0.3001, 700);
    await checkedAllow(apiKey, 1, { what: "on a bucket that held 0.3001 tokens 700 ms ago" });
    await checkedAllow(apiKey, 1, { what: "right after" });

    const emptied = uid("resume");
    await seedBucket(emptied, 0.0001, 1_000);
    const { decision } = await checkedAllow(emptied, 2, { what: "on a bucket emptied 1 s ago" });
    expect(
      decision.allowed,
      "a bucket emptied 1 s ago has earned 2 tokens since: allow(key, 2) must be allowed. Read `ts` as Redis " +
        "server milliseconds and refill from it",
    ).toBe(true);
    await checkedAllow(emptied, CAPACITY, { what: "right after spending the 2 refilled tokens" });
  });

  it("an idle bucket never holds more than the capacity of 5", async () => {
    const apiKey = uid("idle");
    // 4 tokens, 2 s ago: 4 more were earned since, but a bucket holds at most 5.
    await seedBucket(apiKey, 4, 2_000);
    const first = await checkedAllow(apiKey, 1, { what: "on a bucket that held 4 tokens 2 s ago" });
    expect(
      first.decision.remaining,
      "the refilled bucket must be capped at 5 before spending, so the first call leaves 4: use min(capacity, tokens + refill)",
    ).toBe(CAPACITY - 1);
    const rest = await checkedAllow(apiKey, CAPACITY, { what: "with about 4 tokens left" });
    expect(
      rest.decision.allowed,
      `after idling, a client must get a burst of at most ${CAPACITY}: cap the refilled tokens at the capacity`,
    ).toBe(false);
  });
});

task(3, "Let idle buckets expire", () => {
  it("every call, allowed or denied, leaves the key with a TTL of about 2500 ms", async () => {
    const apiKey = uid("ttl");
    for (let call = 1; call <= CAPACITY + 2; call++) {
      // Calls 6 and 7 ask for the whole capacity of an emptied bucket: they are denied.
      const cost = call <= CAPACITY ? 1 : CAPACITY;
      // Before every later call the grader removes the TTL, to see that this call sets it again.
      if (call > 1) await redis().persist(bucketKey(apiKey));
      const decision = expectDecision(
        await settle(limiter.allow(apiKey, cost)),
        `allow("${apiKey}", ${cost})`,
      );
      const pttl = await redis().pttl(bucketKey(apiKey));
      const verdict = decision.allowed ? "allowed" : "denied";
      expect(
        pttl,
        pttl === -2
          ? `after call ${call} (${verdict}) ${bucketKey(apiKey)} does not exist: every call writes the bucket back`
          : pttl === -1 && call === 1
            ? `after call 1 ${bucketKey(apiKey)} has no TTL (PTTL -1), so buckets of API keys never seen again stay ` +
              `in Redis forever: set it to ${BUCKET_TTL_MS} ms in the same atomic step as the write (PEXPIRE)`
            : pttl === -1
              ? `the grader removed the TTL of ${bucketKey(apiKey)} before call ${call} (${verdict}) and the call did ` +
                `not set it again (PTTL -1): every call, allowed or denied, must set the TTL to ${BUCKET_TTL_MS} ms, ` +
                "not only the call that creates the bucket"
              : `after call ${call} (${verdict}) ${bucketKey(apiKey)} has PTTL ${pttl}: the TTL must be set to ` +
                `${BUCKET_TTL_MS} ms on every call`,
      ).toBeGreaterThan(BUCKET_TTL_MS - 1_000);
      expect(
        pttl,
        `after call ${call} the PTTL is ${pttl}: the TTL must be the ${BUCKET_TTL_MS} ms an empty bucket takes to ` +
          "refill, not more (PEXPIRE in milliseconds, not EXPIRE in whole seconds)",
      ).toBeLessThanOrEqual(BUCKET_TTL_MS);
    }
  });

  it("an idle bucket disappears from Redis, and the key then starts full again", async () => {
    const apiKey = uid("expire");
    await checkedAllow(apiKey, CAPACITY, { what: "empties a new bucket" });
    const lastWrite = (await readBucket(apiKey))?.raw;
    let changedWhileIdle: Record<string, string> | undefined;
    const gone = await waitFor(
      async () => {
        const now = await redis().hgetall(bucketKey(apiKey));
        if (Object.keys(now).length === 0) return true;
        if (JSON.stringify(now) !== JSON.stringify(lastWrite)) changedWhileIdle ??= now;
        return false;
      },
      BUCKET_TTL_MS + 2_000,
      100,
    );
    expect(
      changedWhileIdle,
      `${bucketKey(apiKey)} changed from ${JSON.stringify(lastWrite)} to ${JSON.stringify(changedWhileIdle)} while ` +
        "nobody called allow(): no timers or background jobs, refill on the next call from `ts`",
    ).toBeUndefined();
    expect(
      gone,
      `${bucketKey(apiKey)} was still in Redis ${BUCKET_TTL_MS + 2_000} ms after its last call: set a TTL of ` +
        `${BUCKET_TTL_MS} ms`,
    ).toBe(true);
    const { decision } = await checkedAllow(apiKey, 1, { what: "after the bucket expired" });
    expect(decision, "once the bucket has expired, the key is treated as a full bucket again").toEqual({
      allowed: true,
      remaining: CAPACITY - 1,
      retryAfterMs: 0,
    });
  });
});

task(4, "Admit exactly the capacity under concurrency, across instances", () => {
  const atomicHint =
    "Read, refill, spend and write in one atomic step: a Lua script, or a WATCH/MULTI loop in which every call " +
    "has a connection of its own (WATCH belongs to a connection) and WATCHes before it reads";

  it(`${BURST} concurrent calls split across two instances of the API admit exactly 5`, async () => {
    const other = await second();
    // Open every connection first (both instances' Redis connections, the HTTP sockets to both), so the
    // burst below arrives as one tight burst, the way a traffic spike does.
    await Promise.all([warmUp(limiter, BURST / 2), warmUp(other, BURST / 2)]);

    const apiKey = uid("shared");
    const started = Date.now();
    await pauseWrites();
    const decisions = await decideAll(
      Array.from({ length: BURST }, (_, i) => (i % 2 === 0 ? limiter : other).allow(apiKey)),
      "concurrent calls",
    );
    const elapsed = Date.now() - started;
    const refilled = Math.floor(elapsed / MS_PER_TOKEN);
    const allowed = admitted(decisions);

    expect(
      allowed,
      `${allowed} of ${BURST} concurrent calls from two instances were admitted by a bucket of ${CAPACITY}` +
        (refilled ? ` (+${refilled} refilled during the ${elapsed} ms burst)` : "") +
        `. The grader held Redis writes for ${WRITE_PAUSE_MS} ms while the calls arrived, as a slow network would: ` +
        "calls that read the bucket before another call's write lands all spend the same tokens. " +
        atomicHint,
    ).toBeLessThanOrEqual(CAPACITY + refilled);
    expect(
      allowed,
      `a full bucket must admit ${CAPACITY} of ${BURST} concurrent calls, not ${allowed}`,
    ).toBeGreaterThanOrEqual(CAPACITY);
    const bucket = await readBucket(apiKey);
    expect(bucket?.tokens, `${bucketKey(apiKey)} must never go negative`).toBeGreaterThanOrEqual(0);
  });

  it("30 concurrent calls of cost 2 on one instance never overdraw the bucket", async () => {
    const apiKey = uid("overdraw");
    await warmUp(limiter, 30);
    const started = Date.now();
    await pauseWrites();
    const decisions = await decideAll(
      Array.from({ length: 30 }, () => limiter.allow(apiKey, 2)),
      "concurrent calls of cost 2",
    );
    const elapsed = Date.now() - started;
    const spendable = CAPACITY + Math.floor(elapsed / MS_PER_TOKEN);
    const allowed = admitted(decisions);
    expect(
      allowed * 2,
      `${allowed} calls of cost 2 were admitted, spending ${allowed * 2} tokens from a bucket that had at most ` +
        `${spendable}. The grader held Redis writes for ${WRITE_PAUSE_MS} ms while the calls arrived: concurrent ` +
        `calls inside one process interleave too. ${atomicHint}`,
    ).toBeLessThanOrEqual(spendable);
    expect(allowed, "a full bucket of 5 must admit at least 2 calls of cost 2").toBeGreaterThanOrEqual(2);
  });

  it("5 concurrent calls on a full bucket, all read before any write lands, are all admitted", async () => {
    const other = await second();
    await Promise.all([warmUp(limiter, 3), warmUp(other, 3)]);
    const apiKey = uid("all-fit");
    const decisions = await whileWritesHeld(
      Array.from({ length: CAPACITY }, (_, i) => () => settle((i % 2 === 0 ? limiter : other).allow(apiKey))),
    );
    const failed = decisions.filter((outcome) => outcome.error);
    expect(
      failed[0]?.error?.message,
      `${failed.length} of ${CAPACITY} concurrent calls threw instead of returning a decision: a call whose ` +
        "transaction lost a race must try again",
    ).toBeUndefined();
    const allowed = admitted(decisions.map((outcome) => outcome.value as Decision));
    expect(
      allowed,
      `only ${allowed} of ${CAPACITY} concurrent calls on a full bucket of ${CAPACITY} were admitted: there was a ` +
        "token for every one of them. The grader let every call read the bucket before any write went through; " +
        "with WATCH/MULTI, the EXEC of all but one of them then fails (null reply): that call must start over " +
        "(WATCH, read, decide, EXEC again), not answer denied",
    ).toBe(CAPACITY);
  });

  it("a WATCH/MULTI transaction reads the bucket after its WATCH, never only before it", async () => {
    const other = await second();
    await Promise.all([warmUp(limiter, 4), warmUp(other, 4)]);
    const apiKey = uid("watch-order");
    let threw: Error | undefined;
    const log = await commandLogDuring(async () => {
      // Concurrent calls from both instances, so that some EXECs fail and their calls start over.
      const calls = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? limiter : other).allow(apiKey));
      for (const outcome of await Promise.all(calls.map((call) => settle(call)))) threw ??= outcome.error;
    });
    expect(threw?.message, "10 concurrent calls on one key must all decide").toBeUndefined();
    const unsafe = transactionsNotReadAfterWatch(log, bucketKey(apiKey));
    expect(
      unsafe.length,
      `${unsafe.length} EXEC(s) on ${bucketKey(apiKey)} decided on a bucket read before the WATCH. WATCH only ` +
        "notices changes made after it: a write by another call between your read and your WATCH goes unseen, " +
        "EXEC still succeeds, and both calls spend the same tokens. WATCH the key first, then read it, decide, " +
        "and MULTI/EXEC. One connection's commands for one attempt, as Redis ran them:\n" +
        unsafe.slice(0, 3).join("\n"),
    ).toBe(0);
  });
});

task(5, "Reject invalid input", () => {
  it('rejects a cost of 0, -1, 1.5, 6, NaN, Infinity or "2", without touching Redis', async () => {
    const apiKey = uid("badcost");
    const badCosts: unknown[] = [0, -1, 1.5, CAPACITY + 1, Number.NaN, Number.POSITIVE_INFINITY, "2"];
    const accepted: string[] = [];
    const sent = await commandsSentDuring(async () => {
      for (const cost of badCosts) {
        const outcome = await settle(limiter.allow(apiKey, cost));
        if (!outcome.error) accepted.push(JSON.stringify(cost) ?? String(cost));
      }
    });
    expect(
      accepted,
      `allow(key, cost) must throw for these costs: cost is a number that is an integer from 1 to ${CAPACITY}. ` +
        `A cost of 0 or less would let a caller mint tokens, more than ${CAPACITY} can never be satisfied, and a ` +
        "string is not a number even when it reads like one (do not convert it)",
    ).toEqual([]);
    expect(
      sent,
      "allow() with an invalid cost threw, but only after sending these commands to Redis: check the arguments " +
        "first, before any Redis call",
    ).toEqual([]);
    expect(
      await redis().exists(bucketKey(apiKey)),
      "invalid calls must be rejected before anything is written to Redis",
    ).toBe(0);
    const { decision } = await checkedAllow(apiKey, 1, { what: "after the rejected calls" });
    expect(
      decision,
      "after the rejected calls the key is untouched: a valid call sees a full bucket",
    ).toEqual({
      allowed: true,
      remaining: CAPACITY - 1,
      retryAfterMs: 0,
    });
  });

  it("rejects an API key that is empty or not a string, without touching Redis", async () => {
    const numericKey = 100_000 + Math.floor(Math.random() * 900_000);
    const accepted: string[] = [];
    const sent = await commandsSentDuring(async () => {
      for (const apiKey of ["", numericKey]) {
        const outcome = await settle(limiter.allow(apiKey));
        if (!outcome.error) accepted.push(JSON.stringify(apiKey));
      }
    });
    expect(
      accepted,
      "allow(apiKey) must throw when apiKey is not a non-empty string: an empty key would share the bucket " +
        "`ratelimit:` with every other keyless caller, and a number is not a string (check typeof, not truthiness)",
    ).toEqual([]);
    expect(
      sent,
      "allow() with an invalid apiKey threw, but only after sending these commands to Redis: check the " +
        "arguments first, before any Redis call",
    ).toEqual([]);
    expect(
      await redis().exists("ratelimit:", `ratelimit:${numericKey}`),
      `no bucket may be created for an invalid key ("ratelimit:" or "ratelimit:${numericKey}")`,
    ).toBe(0);
    const { decision } = await checkedAllow(uid("valid"), 1, { what: "a valid key" });
    expect(decision, "a valid key is still allowed").toEqual({
      allowed: true,
      remaining: CAPACITY - 1,
      retryAfterMs: 0,
    });
  });
});
