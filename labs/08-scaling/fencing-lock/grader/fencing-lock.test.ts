import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, expect, it } from "vitest";
import { learner, redis, type Remote, startLearner, task } from "@backend-labs/graders";

interface Lease {
  resource: string;
  owner: string;
  token: number;
}

interface LockService {
  acquire(resource: string, ttlMs: number): Lease | null;
  release(lease: Lease): boolean;
  extend(lease: Lease, ttlMs: number): boolean;
  writeDocument(name: string, token: number, content: string): void;
}

/** How far behind the second instance's clock runs, as on a server whose clock drifted. */
const CLOCK_SKEW_MS = 60_000;
/** How long the grader holds every Redis write (scripts included) to line concurrent calls up. */
const WRITE_PAUSE_MS = 300;
/** A lease short enough to let expire inside a test. */
const SHORT_TTL_MS = 200;
/** How long past its TTL a lock key may take to disappear before the grader calls it immortal. */
const EXPIRY_SLACK_MS = 1_000;

/** The copy the runner started, with an honest clock. */
const first = learner().module<LockService>();
/** A second copy of the same code whose clock runs a minute behind. */
let second: Remote<LockService>;

beforeAll(async () => {
  const instance = await startLearner({
    INSTANCE: "second",
    NODE_OPTIONS: clockSkewOption(-CLOCK_SKEW_MS),
  });
  second = instance.module<LockService>();
});

/** A fresh resource name per test, so tests share no keys. */
const newResource = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;
const lockKey = (resource: string): string => `lock:${resource}`;
const fenceKey = (resource: string): string => `fence:${resource}`;
const documentKey = (name: string): string => `doc:${name}`;

/**
 * NODE_OPTIONS for a copy of the learner's code whose Date.now() and new Date() run skewMs off. Redis's
 * clock is untouched.
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
 * Waits for a lease to run out, as a holder stuck in a GC pause would. Resolves false at once when the key
 * has no TTL, and after the TTL plus some slack when it is still there.
 */
async function waitForExpiry(resource: string, ttlMs: number): Promise<boolean> {
  const deadline = Date.now() + ttlMs + EXPIRY_SLACK_MS;
  for (;;) {
    const pttl = await redis().pttl(lockKey(resource));
    if (pttl === -2) return true;
    if (pttl === -1 || Date.now() > deadline) return false;
    await sleep(Math.min(pttl, 20));
  }
}

async function expectExpired(resource: string, ttlMs: number): Promise<void> {
  expect(
    await waitForExpiry(resource, ttlMs),
    `${lockKey(resource)} was taken with ttlMs ${ttlMs} but never expired (PTTL ${await redis().pttl(lockKey(resource))}). ` +
      "A lock without an expiry stays held forever when its holder crashes: SET it with NX and PX in one command",
  ).toBe(true);
}

/**
 * Holds every write (and every script) on Redis for WRITE_PAUSE_MS while reads go on, as a slow link
 * would. Atomic code just waits; code that reads, decides in JavaScript and then writes shows its race.
 */
async function pauseWrites(): Promise<void> {
  await redis().call("CLIENT", "PAUSE", String(WRITE_PAUSE_MS), "WRITE");
}

/** Opens the HTTP sockets and Redis connections a burst will use, so the burst arrives as one. */
async function warmUp(instances: Remote<LockService>[], calls: number): Promise<void> {
  await Promise.all(
    instances.flatMap((instance) =>
      Array.from({ length: calls }, () => instance.writeDocument(newResource("warmup"), 1, "warm-up")),
    ),
  );
}

async function storedDocument(name: string): Promise<Record<string, string>> {
  return redis().hgetall(documentKey(name));
}

/** Settles a promise into the error it rejected with, or undefined if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<Error | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

task(1, "Take the lock atomically, with an expiry", () => {
  it("acquire() stores lock:<resource> = owner with a TTL, and nobody else gets the lock while it is held", async () => {
    const resource = newResource("held");
    const lease = await first.acquire(resource, 2_000);
    expect(lease, `acquire("${resource}", 2000) on a free resource must return a lease, not null`).not.toBe(
      null,
    );
    expect(lease?.resource, "lease.resource must be the resource that was locked").toBe(resource);
    expect(
      typeof lease?.owner === "string" && lease.owner.length > 0,
      `lease.owner must be a non-empty string (a random id such as randomUUID()), got ${JSON.stringify(lease?.owner)}`,
    ).toBe(true);
    expect(
      await redis().get(lockKey(resource)),
      `${lockKey(resource)} must hold lease.owner: that value is how release() and extend() tell whose lock it is`,
    ).toBe(lease?.owner);
    const pttl = await redis().pttl(lockKey(resource));
    expect(
      pttl,
      `${lockKey(resource)} has PTTL ${pttl}; -1 means no expiry, so a holder that crashes keeps the lock forever. ` +
        "Set it in the same command that takes the lock: SET key owner NX PX ttlMs",
    ).toBeGreaterThan(1_000);
    expect(pttl, "the TTL must be ttlMs milliseconds (PX), not seconds (EX)").toBeLessThanOrEqual(2_000);

    expect(
      await second.acquire(resource, 2_000),
      "the second instance must get null while the first holds the lock",
    ).toBe(null);
    expect(
      await first.acquire(resource, 2_000),
      "acquiring again from the same instance must also get null: each acquire() is a new holder, the lock is not re-entrant",
    ).toBe(null);
    expect(
      await redis().get(lockKey(resource)),
      "failed acquisitions must leave the holder's lock untouched: use SET ... NX, which only writes a missing key",
    ).toBe(lease?.owner);
  });

  it("a lease that is never released expires after ttlMs, and then the lock can be taken again", async () => {
    const resource = newResource("expiry");
    const crashed = await first.acquire(resource, SHORT_TTL_MS);
    expect(
      crashed,
      `acquire("${resource}", ${SHORT_TTL_MS}) on a free resource must return a lease`,
    ).not.toBe(null);
    // The holder "crashes": it never calls release().
    await expectExpired(resource, SHORT_TTL_MS);
    const next = await second.acquire(resource, 1_000);
    expect(next, "once the crashed holder's lease expired, the second instance must get the lock").not.toBe(
      null,
    );
    expect(
      await redis().get(lockKey(resource)),
      `${lockKey(resource)} must now hold the new lease's owner`,
    ).toBe(next?.owner);
  });

  it("16 concurrent acquire() calls from two instances while Redis holds writes: exactly one gets the lease", async () => {
    await warmUp([first, second], 8);
    const resource = newResource("race");
    await pauseWrites();
    const leases = await Promise.all(
      Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? first : second).acquire(resource, 5_000)),
    );
    const winners = leases.filter((lease) => lease !== null);
    expect(
      winners.length,
      `${winners.length} of 16 concurrent acquire() calls got a lease. The grader held Redis writes for ` +
        `${WRITE_PAUSE_MS} ms while they arrived: code that checks the key with GET and then writes it with SET ` +
        "lets every caller see a free lock. Take it in one atomic command (SET ... NX PX) or one Lua script",
    ).toBe(1);
    expect(
      await redis().get(lockKey(resource)),
      `${lockKey(resource)} must hold the owner of the one lease that was handed out`,
    ).toBe(winners[0]?.owner);
  });
});

task(2, "Hand out a fencing token with every lease", () => {
  it("tokens start at 1 and strictly increase with every acquisition, on both instances and after expiry", async () => {
    const resource = newResource("tokens");
    const tokens: number[] = [];
    for (let round = 0; round < 6; round++) {
      // Alternate instances; each lease expires before the next acquisition.
      const lease = await (round % 2 === 0 ? first : second).acquire(resource, SHORT_TTL_MS / 2);
      expect(lease, `acquisition ${round + 1} of a free resource must return a lease`).not.toBe(null);
      expect(
        Number.isSafeInteger(lease?.token),
        `lease.token must be an integer (INCR returns one), got ${JSON.stringify(lease?.token)}`,
      ).toBe(true);
      tokens.push(lease?.token ?? Number.NaN);
      await expectExpired(resource, SHORT_TTL_MS / 2);
    }
    const backwards = tokens.findIndex((token, i) => i > 0 && token <= (tokens[i - 1] ?? 0));
    expect(
      backwards,
      `six acquisitions alternating between the instances got the tokens ${tokens.join(", ")}: acquisition ` +
        `${backwards + 1} did not get a larger token than the one before. Every new lease must carry a larger ` +
        "token than all earlier ones, or the storage cannot tell the newest holder. The second instance's clock " +
        `runs ${CLOCK_SKEW_MS / 1000} s behind, so a token made from a clock goes backwards: draw it from one ` +
        "counter that every instance shares",
    ).toBe(-1);
    expect(
      tokens[0],
      `the first lease on a new resource must carry token 1: INCR ${fenceKey(resource)}, a key that does not exist yet`,
    ).toBe(1);
    expect(
      await redis().get(fenceKey(resource)),
      `${fenceKey(resource)} must hold the last token handed out (${tokens.at(-1)})`,
    ).toBe(String(tokens.at(-1)));
    expect(
      await redis().pttl(fenceKey(resource)),
      `${fenceKey(resource)} must never expire: a counter that starts again from 1 hands new holders tokens the ` +
        "storage has already seen, and their writes get rejected",
    ).toBe(-1);
  });

  it("a failed acquisition draws no token, and every resource counts on its own", async () => {
    const resource = newResource("counted");
    const other = newResource("counted-other");
    const holder = await first.acquire(resource, 5_000);
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(await second.acquire(resource, 5_000), "the resource is held: acquire() must return null").toBe(
        null,
      );
    }
    expect(
      await redis().get(fenceKey(resource)),
      `after one successful and three failed acquisitions ${fenceKey(resource)} must be 1: only a lease that was ` +
        "handed out draws a token, so take the lock and draw the token together, in one Lua script",
    ).toBe("1");
    expect(holder?.token, "the only lease handed out carries token 1").toBe(1);
    const otherLease = await second.acquire(other, 5_000);
    expect(
      otherLease?.token,
      `the first lease on "${other}" must carry token 1: each resource has its own counter, ${fenceKey("<resource>")}`,
    ).toBe(1);
  });
});

task(3, "Release and extend only your own lease", () => {
  it("release() deletes your lock and returns true; releasing it again returns false", async () => {
    const resource = newResource("release");
    const lease = await first.acquire(resource, 5_000);
    expect(lease, "acquire() on a free resource must return a lease").not.toBe(null);
    if (!lease) return;
    expect(
      await first.release(lease),
      "release() of a lease that still holds the lock must return true",
    ).toBe(true);
    expect(
      await redis().exists(lockKey(resource)),
      `after release() ${lockKey(resource)} must be gone, so the next holder need not wait for the TTL`,
    ).toBe(0);
    expect(
      await first.release(lease),
      "releasing the same lease again must return false: it no longer holds the lock",
    ).toBe(false);
    expect(
      await second.acquire(resource, 1_000),
      "right after the release, the other instance must get the lock",
    ).not.toBe(null);
  });

  it("extend() resets your lease's expiry to ttlMs from now", async () => {
    const resource = newResource("extend");
    const lease = await first.acquire(resource, 500);
    expect(lease, "acquire() on a free resource must return a lease").not.toBe(null);
    if (!lease) return;
    expect(
      await first.extend(lease, 5_000),
      "extend() of a lease that still holds the lock returns true",
    ).toBe(true);
    const pttl = await redis().pttl(lockKey(resource));
    expect(
      pttl,
      `after extend(lease, 5000) ${lockKey(resource)} has PTTL ${pttl}: set it to ttlMs from now with PEXPIRE`,
    ).toBeGreaterThan(4_000);
    expect(pttl, "the new TTL must be ttlMs milliseconds").toBeLessThanOrEqual(5_000);
    expect(await redis().get(lockKey(resource)), "extend() must not change the lock's owner").toBe(
      lease.owner,
    );
  });

  it("a holder whose lease expired cannot release() the lock that now belongs to someone else", async () => {
    const resource = newResource("stale-release");
    const stale = await first.acquire(resource, SHORT_TTL_MS);
    expect(stale, "acquire() on a free resource must return a lease").not.toBe(null);
    if (!stale) return;
    await expectExpired(resource, SHORT_TTL_MS);
    const current = await second.acquire(resource, 5_000);
    expect(current, "after the first lease expired, the second instance must get the lock").not.toBe(null);

    expect(
      await first.release(stale),
      "release() of an expired lease must return false: the lock is someone else's now",
    ).toBe(false);
    expect(
      await redis().get(lockKey(resource)),
      `the expired holder's release() deleted the new holder's lock: ${lockKey(resource)} must still hold ` +
        "the second lease's owner. Delete only if the value is still yours, and compare and delete in one step " +
        "(a Lua script): a GET followed by a DEL can still delete a lock taken in between",
    ).toBe(current?.owner);
    expect(
      await first.acquire(resource, 5_000),
      "the lock is held by the second instance, so a new acquire() must still get null",
    ).toBe(null);
  });

  it("a holder whose lease expired cannot extend() the lock that now belongs to someone else", async () => {
    const resource = newResource("stale-extend");
    const stale = await first.acquire(resource, SHORT_TTL_MS);
    expect(stale, "acquire() on a free resource must return a lease").not.toBe(null);
    if (!stale) return;
    await expectExpired(resource, SHORT_TTL_MS);
    const current = await second.acquire(resource, 2_000);
    expect(current, "after the first lease expired, the second instance must get the lock").not.toBe(null);

    expect(
      await first.extend(stale, 60_000),
      "extend() of an expired lease must return false: the lock is someone else's now",
    ).toBe(false);
    const pttl = await redis().pttl(lockKey(resource));
    expect(
      pttl,
      `the expired holder's extend(lease, 60000) changed the new holder's TTL (PTTL is now ${pttl}). PEXPIRE ` +
        "only if the lock's value is still your owner id, checked in the same Lua script",
    ).toBeLessThanOrEqual(2_000);
    expect(await redis().get(lockKey(resource)), "the lock must still belong to the second lease").toBe(
      current?.owner,
    );
  });
});

task(4, "Fence the storage: reject writes with a stale token", () => {
  it("a holder paused past its lease cannot overwrite the write of the holder that came after it", async () => {
    const name = newResource("report");
    const leaseA = await first.acquire(name, SHORT_TTL_MS);
    expect(leaseA, "acquire() on a free resource must return a lease").not.toBe(null);
    if (!leaseA) return;
    expect(
      (await rejection(first.writeDocument(name, leaseA.token, "draft by A")))?.message,
      "the first write to a new document, by the lock's holder, must be accepted",
    ).toBe(undefined);
    expect(
      await storedDocument(name),
      `writeDocument("${name}", ${leaseA.token}, "draft by A") must store the hash ${documentKey(name)} with ` +
        "fields content and token",
    ).toEqual({ content: "draft by A", token: String(leaseA.token) });

    // Instance A now stalls (a GC pause, a slow disk, a VM migration) for longer than its lease...
    await expectExpired(name, SHORT_TTL_MS);
    // ...so instance B legitimately takes the lock and writes.
    const leaseB = await second.acquire(name, 5_000);
    expect(leaseB, "after A's lease expired, the second instance must get the lock").not.toBe(null);
    if (!leaseB) return;
    expect(
      (await rejection(second.writeDocument(name, leaseB.token, "final by B")))?.message,
      `B holds the lock with token ${leaseB.token}, newer than A's token ${leaseA.token}: its write must be ` +
        "accepted. A token must grow with every acquisition, on every instance",
    ).toBe(undefined);

    // A wakes up, still believing it holds the lock, and finishes its work.
    const refused = await rejection(first.writeDocument(name, leaseA.token, "late write by A"));
    expect(
      refused?.message,
      `A's write with token ${leaseA.token} arrived after the document accepted token ${leaseB.token}: the storage ` +
        'must reject it with an error mentioning "stale token". A lease alone cannot stop a holder that paused ' +
        "past its TTL; only the storage, comparing tokens, can",
    ).toMatch(/stale token/i);
    expect(
      await storedDocument(name),
      `${documentKey(name)} must still hold B's write and B's token: the stale write must change nothing`,
    ).toEqual({ content: "final by B", token: String(leaseB.token) });
  });

  it("the same token may write again, a newer token replaces the content, an older one is refused", async () => {
    const name = newResource("ledger");
    expect(
      (await rejection(first.writeDocument(name, 5, "v1")))?.message,
      "the first write to a new document must be accepted, whatever its token",
    ).toBe(undefined);
    expect(
      (await rejection(second.writeDocument(name, 5, "v2")))?.message,
      "a second write with token 5 must be accepted: a holder may write more than once with its token, so only " +
        "a token smaller than the stored one is stale",
    ).toBe(undefined);
    expect(
      await storedDocument(name),
      "after two writes with token 5 the document holds the second one",
    ).toEqual({ content: "v2", token: "5" });
    expect(
      (await rejection(first.writeDocument(name, 7, "v3")))?.message,
      "a write with token 7, newer than the stored 5, must be accepted",
    ).toBe(undefined);
    const refused = await rejection(second.writeDocument(name, 6, "v4"));
    expect(
      refused?.message,
      'token 6 is older than token 7, which the document already accepted: throw an error mentioning "stale token"',
    ).toMatch(/stale token/i);
    expect(
      await storedDocument(name),
      `${documentKey(name)} must keep the newest accepted write (token 7) and remember its token`,
    ).toEqual({ content: "v3", token: "7" });
  });

  it("12 concurrent writes with different tokens from two instances, held up by Redis: the newest token wins", async () => {
    await warmUp([first, second], 6);
    const name = newResource("contended");
    // The newest token is sent first: every other write arrives after it and must be refused.
    const tokens = [12, 3, 9, 1, 11, 5, 7, 2, 10, 4, 8, 6];
    await pauseWrites();
    const outcomes = await Promise.allSettled(
      tokens.map((token, i) =>
        (i % 2 === 0 ? first : second).writeDocument(name, token, `written with token ${token}`),
      ),
    );
    expect(
      await storedDocument(name),
      `after concurrent writes with tokens 1 to 12 the document must hold the write of token 12. The grader held ` +
        `Redis writes for ${WRITE_PAUSE_MS} ms while they arrived: storage that reads the stored token, compares ` +
        "in JavaScript and then writes lets every write pass the check against the same old token. Compare and " +
        "write in one Lua script",
    ).toEqual({ content: "written with token 12", token: "12" });
    const otherErrors = outcomes
      .filter((outcome) => outcome.status === "rejected")
      .map((outcome) => String((outcome.reason as Error).message))
      .filter((message) => !/stale token/i.test(message));
    expect(otherErrors, "a refused write must fail with a stale token error, not another error").toEqual([]);
  });
});
