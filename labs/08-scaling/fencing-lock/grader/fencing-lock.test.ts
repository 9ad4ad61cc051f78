import { afterAll, beforeAll, expect, it } from "vitest";
import { redis, type Remote, task } from "@backend-labs/graders";
import {
  BURST_PAUSE_MS,
  CLOCK_SKEW_MS,
  closeSideRedis,
  documentKey,
  expectExpired,
  expectFreshTtl,
  expectStaleTokenError,
  fenceKey,
  first,
  inOrderWhileWritesHeld,
  type Lease,
  lockKey,
  type LockService,
  observeEachWrite,
  pauseWritesForBurst,
  rejection,
  resolved,
  SHORT_TTL_MS,
  sideRedis,
  startSecondInstance,
  storedDocument,
  uid,
  warmUp,
} from "./helpers.ts";

/** A second copy of the same code whose clock runs a minute behind. */
let second: Remote<LockService>;

beforeAll(async () => {
  second = await startSecondInstance();
});

afterAll(() => {
  closeSideRedis();
});

/** Takes a lease the test needs to go on, failing with a clear message when there is none. */
async function leaseOn(instance: Remote<LockService>, resource: string, ttlMs: number): Promise<Lease> {
  const lease = await instance.acquire(resource, ttlMs);
  expect(lease, `acquire("${resource}", ${ttlMs}) on a free resource must return a lease, not null`).not.toBe(
    null,
  );
  return lease!;
}

task(1, "Take the lock atomically, with an expiry", () => {
  it("acquire() stores lock:<resource> = owner with a TTL of ttlMs, and nobody else gets the lock while it is held", async () => {
    const resource = uid("held");
    const lease = await leaseOn(first, resource, 2_500);
    expect(lease.resource, "lease.resource must be the resource that was locked").toBe(resource);
    expect(
      typeof lease.owner === "string" && lease.owner.length > 0,
      `lease.owner must be a non-empty string (a random id such as randomUUID()), got ${JSON.stringify(lease.owner)}`,
    ).toBe(true);
    expect(
      await redis().get(lockKey(resource)),
      `${lockKey(resource)} must hold lease.owner: that value is how release() and extend() tell whose lock it is`,
    ).toBe(lease.owner);
    await expectFreshTtl(resource, 2_500, `acquire("${resource}", 2500)`);

    expect(
      await second.acquire(resource, 60_000),
      "the second instance must get null while the first holds the lock",
    ).toBe(null);
    expect(
      await first.acquire(resource, 60_000),
      "acquiring again from the same instance must also get null: each acquire() is a new holder, the lock is not re-entrant",
    ).toBe(null);
    expect(
      await redis().get(lockKey(resource)),
      "failed acquisitions must leave the holder's lock untouched: use SET ... NX, which only writes a missing key",
    ).toBe(lease.owner);
    const pttl = await redis().pttl(lockKey(resource));
    expect(
      pttl,
      `two failed acquire(..., 60000) calls changed the holder's TTL (PTTL is now ${pttl}): an acquire() that gets ` +
        "null must change nothing",
    ).toBeLessThanOrEqual(2_500);

    const skewed = uid("held-skewed");
    await leaseOn(second, skewed, 2_500);
    await expectFreshTtl(
      skewed,
      2_500,
      `acquire("${skewed}", 2500) on the instance whose clock runs ${CLOCK_SKEW_MS / 1000} s behind`,
    );
  });

  it("a lease that is never released expires after ttlMs, and then the lock can be taken again", async () => {
    const resource = uid("expiry");
    await leaseOn(first, resource, SHORT_TTL_MS);
    const pttl = await redis().pttl(lockKey(resource));
    expect(
      pttl,
      `right after acquire("${resource}", ${SHORT_TTL_MS}) ${lockKey(resource)} has PTTL ${pttl}, more than ` +
        `${SHORT_TTL_MS}: the TTL is ttlMs milliseconds (PX ttlMs), not seconds (EX), and not rounded up to a second`,
    ).toBeLessThanOrEqual(SHORT_TTL_MS);
    // The holder "crashes": it never calls release().
    await expectExpired(resource, SHORT_TTL_MS);
    const next = await second.acquire(resource, 5_000);
    expect(next, "once the crashed holder's lease expired, the second instance must get the lock").not.toBe(
      null,
    );
    expect(
      await redis().get(lockKey(resource)),
      `${lockKey(resource)} must now hold the new lease's owner`,
    ).toBe(next?.owner);
  });

  it("two acquire() calls from two instances, both checked while Redis holds writes: exactly one gets the lease", async () => {
    await warmUp([first, second], 1);
    const resource = uid("pair");
    const [a, b] = await inOrderWhileWritesHeld<[Lease | null, Lease | null]>([
      () => first.acquire(resource, 5_000),
      () => second.acquire(resource, 5_000),
    ]);
    const leases = [resolved(a, "acquire() on the first instance"), resolved(b, "acquire() on the second")];
    const winners = leases.filter((lease) => lease !== null);
    expect(
      winners.length,
      `${winners.length} of 2 acquire() calls got a lease. The grader held Redis writes until both calls had ` +
        "looked at the lock: code that checks the key (GET, EXISTS) and then writes it with SET in another round " +
        "trip lets both see a free lock. Take it in one atomic command (SET ... NX PX) or one Lua script",
    ).toBe(1);
    expect(
      await redis().get(lockKey(resource)),
      `${lockKey(resource)} must hold the owner of the one lease that was handed out`,
    ).toBe(winners[0]?.owner);
  });

  it("16 concurrent acquire() calls from two instances while Redis holds writes: exactly one gets the lease", async () => {
    await warmUp([first, second], 8);
    const resource = uid("race");
    await pauseWritesForBurst();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? first : second).acquire(resource, 5_000)),
    );
    const errors = outcomes
      .filter((outcome) => outcome.status === "rejected")
      .map((outcome) => String((outcome.reason as Error).message));
    expect(errors, "concurrent acquire() calls must return a lease or null, not throw").toEqual([]);
    const winners = outcomes
      .map((outcome) => (outcome.status === "fulfilled" ? outcome.value : null))
      .filter((lease) => lease !== null);
    expect(
      winners.length,
      `${winners.length} of 16 concurrent acquire() calls got a lease. The grader held Redis writes for ` +
        `${BURST_PAUSE_MS} ms while they arrived: code that checks the key with GET and then writes it with SET ` +
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
    const resource = uid("tokens");
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
    const resource = uid("counted");
    const other = uid("counted-other");
    const holder = await leaseOn(first, resource, 5_000);
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(await second.acquire(resource, 5_000), "the resource is held: acquire() must return null").toBe(
        null,
      );
    }
    expect(
      await redis().get(fenceKey(resource)),
      `after one successful and three failed acquisitions ${fenceKey(resource)} must be 1: only a lease that was ` +
        "handed out draws a token, so draw the token only once the lock is yours, in the same atomic step",
    ).toBe("1");
    expect(holder.token, "the only lease handed out carries token 1").toBe(1);
    const otherLease = await leaseOn(second, other, 5_000);
    expect(
      otherLease.token,
      `the first lease on "${other}" must carry token 1: each resource has its own counter, ${fenceKey("<resource>")}`,
    ).toBe(1);
  });

  it("taking the lock and drawing the token are one atomic step: no moment shows one done without the other", async () => {
    await warmUp([first], 1);
    const resource = uid("atomic");
    const { outcome, seen } = await observeEachWrite(
      () => first.acquire(resource, 5_000),
      [lockKey(resource), fenceKey(resource)],
    );
    const lease = resolved(outcome, `acquire("${resource}", 5000)`);
    expect(lease, `acquire("${resource}", 5000) on a free resource must return a lease, not null`).not.toBe(
      null,
    );
    const half = seen.find(([lock, fence]) => (lock === null) !== (fence === null));
    const state = !half
      ? "lock and token together"
      : half[0] === null
        ? "token drawn, lock still free"
        : "lock taken, token not drawn yet";
    expect(
      state,
      `the grader let acquire()'s writes through one at a time and read ${lockKey(resource)} and ` +
        `${fenceKey(resource)} after each: after one of them the lock ${half?.[0] === null ? "was still free" : "was taken"} ` +
        `but ${fenceKey(resource)} ${half?.[1] === null ? "had not been incremented yet" : "was already incremented"}. ` +
        "A holder that stalls between the two steps (a GC pause) while its lease runs out draws its token after " +
        "a later holder and ends up with the larger one. Take the lock and INCR the counter in one atomic step: " +
        "one Lua script, or one MULTI/EXEC transaction guarded by WATCH",
    ).toBe("lock and token together");
  });
});

task(3, "Release and extend only your own lease", () => {
  it("release() deletes your lock and returns true; releasing it again returns false", async () => {
    const resource = uid("release");
    const lease = await leaseOn(first, resource, 5_000);
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

  it("extend() resets your lease's expiry to ttlMs from now, on either instance", async () => {
    for (const [name, instance] of [
      ["the first instance", first],
      [`the instance whose clock runs ${CLOCK_SKEW_MS / 1000} s behind`, second],
    ] as const) {
      const resource = uid("extend");
      const lease = await leaseOn(instance, resource, 500);
      expect(
        await instance.extend(lease, 4_500),
        `extend() of a lease that still holds the lock returns true (on ${name})`,
      ).toBe(true);
      await expectFreshTtl(resource, 4_500, `extend(lease, 4500) on ${name}`);
      expect(await redis().get(lockKey(resource)), "extend() must not change the lock's owner").toBe(
        lease.owner,
      );
    }
  });

  it("a holder whose lease expired cannot release() the lock that now belongs to someone else", async () => {
    const resource = uid("stale-release");
    const stale = await leaseOn(first, resource, SHORT_TTL_MS);
    await expectExpired(resource, SHORT_TTL_MS);
    const current = await leaseOn(second, resource, 5_000);
    expect(
      await redis().get(lockKey(resource)),
      `the second instance's acquire() returned a lease, but ${lockKey(resource)} does not hold its owner`,
    ).toBe(current.owner);

    expect(
      await first.release(stale),
      "release() of an expired lease must return false: the lock is someone else's now",
    ).toBe(false);
    expect(
      await redis().get(lockKey(resource)),
      `the expired holder's release() deleted the new holder's lock: ${lockKey(resource)} must still hold ` +
        "the second lease's owner. Delete only if the value is still your lease's owner",
    ).toBe(current.owner);
    const pttl = await redis().pttl(lockKey(resource));
    expect(
      pttl,
      `the expired holder's release() changed the new holder's TTL (PTTL ${pttl}): it must leave the lock untouched`,
    ).toBeGreaterThan(0);
    expect(
      await first.acquire(resource, 5_000),
      "the lock is held by the second instance, so a new acquire() must still get null",
    ).toBe(null);
  });

  it("a holder whose lease expired cannot extend() the lock that now belongs to someone else", async () => {
    const resource = uid("stale-extend");
    const stale = await leaseOn(first, resource, SHORT_TTL_MS);
    await expectExpired(resource, SHORT_TTL_MS);
    const current = await leaseOn(second, resource, 2_000);
    expect(
      await redis().get(lockKey(resource)),
      `the second instance's acquire() returned a lease, but ${lockKey(resource)} does not hold its owner`,
    ).toBe(current.owner);

    expect(
      await first.extend(stale, 60_000),
      "extend() of an expired lease must return false: the lock is someone else's now",
    ).toBe(false);
    const pttl = await redis().pttl(lockKey(resource));
    expect(
      pttl,
      `the expired holder's extend(lease, 60000) changed the new holder's TTL (PTTL is now ${pttl}). PEXPIRE ` +
        "only if the lock's value is still your lease's owner",
    ).toBeLessThanOrEqual(2_000);
    expect(await redis().get(lockKey(resource)), "the lock must still belong to the second lease").toBe(
      current.owner,
    );
  });

  it("every acquisition has its own owner: an expired lease cannot release or extend the next lease of the same instance", async () => {
    const resource = uid("same-instance");
    const stale = await leaseOn(first, resource, SHORT_TTL_MS);
    await expectExpired(resource, SHORT_TTL_MS);
    const current = await leaseOn(first, resource, 3_000);
    expect(
      current.owner,
      "two leases taken one after the other by the same instance got the same owner id: draw a fresh random " +
        "owner (randomUUID()) in every acquire(), not once per process, or an instance's expired lease can " +
        "release or extend its next one",
    ).not.toBe(stale.owner);
    expect(await first.release(stale), "release() of the expired lease must return false").toBe(false);
    expect(await first.extend(stale, 60_000), "extend() of the expired lease must return false").toBe(false);
    expect(
      await redis().get(lockKey(resource)),
      "the expired lease's release() or extend() touched the newer lease's lock: it must still hold the newer owner",
    ).toBe(current.owner);
    expect(
      await redis().pttl(lockKey(resource)),
      "the expired lease's extend() must leave the newer lease's TTL alone",
    ).toBeLessThanOrEqual(3_000);
  });

  it("an expired lease stays expired: extend() and release() return false even when nobody took the lock since", async () => {
    const resource = uid("lapsed");
    const lease = await leaseOn(first, resource, SHORT_TTL_MS);
    await expectExpired(resource, SHORT_TTL_MS);
    expect(
      await first.extend(lease, 5_000),
      "extend() of a lease whose lock has expired must return false: the lock no longer holds its owner. " +
        "Extend only a lock whose value is your owner; never take it again from inside extend()",
    ).toBe(false);
    expect(
      await redis().exists(lockKey(resource)),
      `extend() of an expired lease re-created ${lockKey(resource)}: the lock must stay free for the next acquire()`,
    ).toBe(0);
    expect(await first.release(lease), "release() of an expired lease must return false").toBe(false);
  });

  it("release() compares and deletes in one atomic step: a lock taken over between the two is left alone", async () => {
    await warmUp([first], 1);
    const resource = uid("release-race");
    const lease = await leaseOn(first, resource, 5_000);
    const newOwner = `owner-of-a-later-lease-${uid("x")}`;
    // The grader's write that takes the lock over is held first; the learner's release() is sent next and
    // sees its own owner, because the takeover has not run yet. Then the held writes run in that order.
    const [takeover, released] = await inOrderWhileWritesHeld<[unknown, boolean]>([
      () => sideRedis().set(lockKey(resource), newOwner, "PX", 5_000),
      () => first.release(lease),
    ]);
    resolved(takeover, "the grader's takeover of the lock");
    const result = resolved(released, "release()");
    expect(
      await redis().get(lockKey(resource)),
      `release() deleted a lock that was no longer its own. The grader let release() read ${lockKey(resource)} ` +
        "(still its owner), then handed the lock to another holder before release()'s write ran, as when a " +
        "lease expires and is taken right after the check. Compare and delete in one atomic step: a Lua " +
        "script, or a MULTI/EXEC transaction guarded by WATCH; a GET followed by a DEL deletes whatever is there",
    ).toBe(newOwner);
    expect(
      result,
      "release() must return false: when its delete would have run, the lock was someone else's",
    ).toBe(false);
  });

  it("extend() compares and extends in one atomic step: a lock taken over between the two keeps its TTL", async () => {
    await warmUp([first], 1);
    const resource = uid("extend-race");
    const lease = await leaseOn(first, resource, 5_000);
    const newOwner = `owner-of-a-later-lease-${uid("x")}`;
    const [takeover, extended] = await inOrderWhileWritesHeld<[unknown, boolean]>([
      () => sideRedis().set(lockKey(resource), newOwner, "PX", 2_000),
      () => first.extend(lease, 60_000),
    ]);
    resolved(takeover, "the grader's takeover of the lock");
    const result = resolved(extended, "extend()");
    const pttl = await redis().pttl(lockKey(resource));
    expect(
      pttl,
      `extend(lease, 60000) set the TTL of a lock that was no longer its own (PTTL ${pttl}). The grader let ` +
        `extend() read ${lockKey(resource)} (still its owner), then handed the lock to another holder with a ` +
        "2000 ms lease before extend()'s write ran. Compare and extend in one atomic step: a Lua script, or a " +
        "MULTI/EXEC transaction guarded by WATCH; a GET followed by a PEXPIRE extends whatever is there",
    ).toBeLessThanOrEqual(2_000);
    expect(await redis().get(lockKey(resource)), "the lock must still belong to the new holder").toBe(
      newOwner,
    );
    expect(
      result,
      "extend() must return false: when its PEXPIRE would have run, the lock was someone else's",
    ).toBe(false);
  });
});

task(4, "Fence the storage: reject writes with a stale token", () => {
  it("a holder paused past its lease cannot overwrite the write of the holder that came after it", async () => {
    const name = uid("report");
    const leaseA = await leaseOn(first, name, SHORT_TTL_MS);
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
    const leaseB = await leaseOn(second, name, 5_000);
    expect(
      (await rejection(second.writeDocument(name, leaseB.token, "final by B")))?.message,
      `B holds the lock with token ${leaseB.token}, newer than A's token ${leaseA.token}: its write must be ` +
        "accepted. A token must grow with every acquisition, on every instance",
    ).toBe(undefined);

    // A wakes up, still believing it holds the lock, and finishes its work.
    expectStaleTokenError(
      await rejection(first.writeDocument(name, leaseA.token, "late write by A")),
      `A's write with token ${leaseA.token} arrived after the document accepted token ${leaseB.token}. A lease ` +
        "alone cannot stop a holder that paused past its TTL; only the storage, comparing tokens, can",
    );
    expect(
      await storedDocument(name),
      `${documentKey(name)} must still hold B's write and B's token: the stale write must change nothing`,
    ).toEqual({ content: "final by B", token: String(leaseB.token) });
  });

  it("the same token may write again, a larger token (compared as a number) replaces the content, a smaller one is refused", async () => {
    const name = uid("ledger");
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
      (await rejection(first.writeDocument(name, 9, "v3")))?.message,
      "a write with token 9, larger than the stored 5, must be accepted",
    ).toBe(undefined);
    expect(
      (await rejection(second.writeDocument(name, 10, "v4")))?.message,
      "a write with token 10, larger than the stored 9, must be accepted. Compare tokens as numbers " +
        '(tonumber() in Lua, Number() in JavaScript): compared as strings, "10" sorts before "9"',
    ).toBe(undefined);
    expectStaleTokenError(
      await rejection(first.writeDocument(name, 6, "v5")),
      "token 6 is smaller than token 10, which the document already accepted",
    );
    expect(
      await storedDocument(name),
      `${documentKey(name)} must keep the newest accepted write (token 10) and remember its token: a refused ` +
        "write changes nothing",
    ).toEqual({ content: "v4", token: "10" });
  });

  it("the storage judges by the tokens it has accepted, not by the lock or fence:<name>", async () => {
    const name = uid("unlocked");
    const leaseA = await leaseOn(first, name, 5_000);
    expect(
      (await rejection(first.writeDocument(name, leaseA.token, "by A")))?.message,
      "the first write to a new document must be accepted",
    ).toBe(undefined);
    expect(await first.release(leaseA), "release() of a held lease returns true").toBe(true);
    const leaseB = await leaseOn(second, name, 5_000);
    expect(
      (await rejection(first.writeDocument(name, leaseA.token, "by A again")))?.message,
      `B now holds the lock with token ${leaseB.token}, but the document has accepted no token above ` +
        `${leaseA.token} yet, so a write with token ${leaseA.token} must still be accepted. writeDocument() does ` +
        `not look at locks or at ${fenceKey(name)}: it compares only with the token field of ${documentKey(name)}`,
    ).toBe(undefined);
    expect(await storedDocument(name), "the accepted write must be stored").toEqual({
      content: "by A again",
      token: String(leaseA.token),
    });
  });

  it("a larger token's write held by Redis, then a smaller one's from the other instance: the smaller is refused", async () => {
    await warmUp([first, second], 1);
    const name = uid("newest-first");
    const [newer, older] = await inOrderWhileWritesHeld<[void, void]>([
      () => first.writeDocument(name, 12, "written with token 12"),
      () => second.writeDocument(name, 5, "written with token 5"),
    ]);
    resolved(newer, "writeDocument() with token 12, the first write to the document,");
    expect(
      await storedDocument(name),
      "the grader held Redis writes while both writes checked the document, then let token 12's write run " +
        "before token 5's: the document must keep token 12. Storage that reads the stored token, compares in " +
        "JavaScript and then writes in another round trip lets both writes pass the check against the same " +
        "empty document. Compare and write in one atomic step: a Lua script, or MULTI/EXEC guarded by WATCH",
    ).toEqual({ content: "written with token 12", token: "12" });
    expectStaleTokenError(
      older.ok ? undefined : older.error,
      "token 5's write ran after token 12 had been accepted (if your write is a WATCH/MULTI/EXEC transaction " +
        "and token 12's write aborted it, retry it: the retry reads token 12 and refuses)",
    );
  });

  it("a smaller token's write held by Redis, then a larger one's from the other instance: both are accepted, the larger stays", async () => {
    await warmUp([first, second], 1);
    const name = uid("oldest-first");
    const [older, newer] = await inOrderWhileWritesHeld<[void, void]>([
      () => second.writeDocument(name, 5, "written with token 5"),
      () => first.writeDocument(name, 12, "written with token 12"),
    ]);
    resolved(older, "writeDocument() with token 5, the first write to the document,");
    resolved(newer, "writeDocument() with token 12, larger than every token the document had seen,");
    expect(
      await storedDocument(name),
      "the grader held Redis writes while both writes checked the document, then let token 5's write run " +
        "before token 12's. Both calls resolved, so both writes count as accepted, and the document must end " +
        "with token 12's. If your write is a WATCH/MULTI/EXEC transaction, EXEC returns null when another " +
        "writer changed the document after your WATCH: read the token again and retry; giving up loses a write " +
        "the caller believes was stored",
    ).toEqual({ content: "written with token 12", token: "12" });
  });

  it("12 concurrent writes with different tokens from two instances, held up by Redis: the newest token wins", async () => {
    await warmUp([first, second], 6);
    const name = uid("contended");
    // The newest token is sent first: every other write arrives after it and must be refused.
    const tokens = [12, 3, 9, 1, 11, 5, 7, 2, 10, 4, 8, 6];
    await pauseWritesForBurst();
    const outcomes = await Promise.allSettled(
      tokens.map((token, i) =>
        (i % 2 === 0 ? first : second).writeDocument(name, token, `written with token ${token}`),
      ),
    );
    const otherErrors = outcomes
      .filter((outcome) => outcome.status === "rejected")
      .map((outcome) => String((outcome.reason as Error).message))
      .filter((message) => !/stale token/i.test(message));
    expect(otherErrors, "a refused write must fail with a stale token error, not another error").toEqual([]);
    const stored = await storedDocument(name);
    expect(
      stored,
      `after 12 concurrent writes with tokens 1 to 12 (the grader held Redis writes for ${BURST_PAUSE_MS} ms ` +
        `while they arrived) the document holds token ${stored.token ?? "(none)"}'s write: it must hold token ` +
        "12's, because every other token is smaller. Each write must compare and write in one atomic step, " +
        "and concurrent calls in one process must not share one WATCH on one connection",
    ).toEqual({ content: "written with token 12", token: "12" });
  });
});
