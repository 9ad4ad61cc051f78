import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, expect, it } from "vitest";
import { learner, redis, startLearner, task } from "@backend-labs/graders";

interface JobWorker {
  startWorker(stream: string, consumer: string): Promise<void>;
  stopWorkers(): Promise<void>;
}

interface TestJob {
  jobId: string;
  account: string;
  points: number;
}

interface PendingEntry {
  id: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

interface DeadLetter {
  id: string;
  fields: Record<string, string>;
}

// The numbers the README fixes.
const GROUP = "workers";
const CLAIM_IDLE_MS = 500;
const MAX_DELIVERIES = 3;
const PROCESSED_TTL_SECONDS = 86_400;

/** Time a running worker gets for jobs that need no retry. */
const SETTLE_MS = 2_000;
/** Time for jobs that need a claim after CLAIM_IDLE_MS (a worker looks at least every 250 ms). */
const RECLAIM_MS = 2_000;
/** Idle time after which a pending job's attempt is surely over (attempts take a few ms). */
const STILL_PENDING_MS = 100;

const run = randomUUID().slice(0, 8);
const jobs = learner().module<JobWorker>();

afterEach(async () => {
  await jobs.stopWorkers().catch(() => undefined);
});

// ---------------------------------------------------------------------------------------------------
// Arranging streams, accounts and jobs: every test has a stream and accounts of its own

const streamFor = (label: string): string => `jobs:${label}:${run}`;
const accountFor = (label: string, n = 1): string => `${label}-${run}-${n}`;
const newJob = (account: string, points: number): TestJob => ({
  jobId: randomUUID(),
  account,
  points,
});

async function createAccount(account: string, points = 0): Promise<void> {
  await redis().hset(`account:${account}`, "owner", "grader", "points", String(points));
}

/** The account's points, or undefined when the hash does not exist. */
async function pointsOf(account: string): Promise<number | undefined> {
  const [exists, points] = await Promise.all([
    redis().exists(`account:${account}`),
    redis().hget(`account:${account}`, "points"),
  ]);
  return exists ? Number(points) : undefined;
}

async function enqueue(stream: string, job: TestJob): Promise<string> {
  return enqueueFields(stream, { jobId: job.jobId, account: job.account, points: String(job.points) });
}

async function enqueueFields(stream: string, fields: Record<string, string>): Promise<string> {
  const id = await redis().xadd(stream, "*", ...Object.entries(fields).flat());
  return id!;
}

async function createGroup(stream: string): Promise<void> {
  await redis().xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
}

/** Reads the next new entry as `consumer` and never acknowledges it, like a worker that hangs or dies. */
async function takeAs(stream: string, consumer: string): Promise<string> {
  const reply = (await redis().xreadgroup("GROUP", GROUP, consumer, "COUNT", 1, "STREAMS", stream, ">")) as
    [string, [string, string[]][]][] | null;
  const id = reply?.[0]?.[1][0]?.[0];
  if (!id) throw new Error(`the grader could not read an entry of ${stream} as ${consumer}`);
  return id;
}

/**
 * Makes a pending entry look as if its consumer took it `idleMs` ago, after `deliveries` deliveries
 * (XCLAIM's IDLE and RETRYCOUNT options set exactly that).
 */
async function age(
  stream: string,
  id: string,
  consumer: string,
  idleMs: number,
  deliveries: number,
): Promise<void> {
  await redis().call(
    "XCLAIM",
    stream,
    GROUP,
    consumer,
    "0",
    id,
    "IDLE",
    String(idleMs),
    "RETRYCOUNT",
    String(deliveries),
  );
}

// ---------------------------------------------------------------------------------------------------
// Reading the group, its pending entries list and the dead-letter stream

async function pendingEntries(stream: string): Promise<PendingEntry[]> {
  let rows: [string, string, number, number][];
  try {
    rows = (await redis().xpending(stream, GROUP, "-", "+", 100)) as typeof rows;
  } catch (error) {
    if ((error as Error).message.startsWith("NOGROUP")) return [];
    throw error;
  }
  return rows.map(([id, consumer, idleMs, deliveries]) => ({ id, consumer, idleMs, deliveries }));
}

async function pendingEntry(stream: string, id: string): Promise<PendingEntry | undefined> {
  return (await pendingEntries(stream)).find((entry) => entry.id === id);
}

/** "<id> held by <consumer>, delivered N times" for each pending entry, for messages. */
async function pendingReport(stream: string): Promise<string[]> {
  return (await pendingEntries(stream)).map(
    (entry) => `${entry.id} held by ${entry.consumer}, delivered ${entry.deliveries} times`,
  );
}

/** XINFO GROUPS as records, e.g. { name: "workers", pending: 0, "last-delivered-id": "..." }. */
async function groups(stream: string): Promise<Record<string, unknown>[]> {
  if (!(await redis().exists(stream))) return [];
  const reply = (await redis().xinfo("GROUPS", stream)) as unknown[][];
  return reply.map((flat) => {
    const record: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1];
    return record;
  });
}

async function lastDeliveredId(stream: string): Promise<string | undefined> {
  const group = (await groups(stream)).find((entry) => entry.name === GROUP);
  return group ? String(group["last-delivered-id"]) : undefined;
}

async function deadLetters(stream: string): Promise<DeadLetter[]> {
  const entries = await redis().xrange(`${stream}:dlq`, "-", "+");
  return entries.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    return { id, fields };
  });
}

/**
 * One entry's pending state and Redis's clock, read in one script so both describe the same instant (idle
 * times are measured with that clock). `entry` is undefined when the entry is not pending.
 */
async function pendingAt(stream: string, id: string): Promise<{ entry?: PendingEntry; nowMs: number }> {
  const script = `
    local time = redis.call('TIME')
    local rows = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
    return { time[1], time[2], rows }`;
  const [seconds, micros, rows] = (await redis().eval(script, 1, stream, GROUP, id)) as [
    string,
    string,
    [string, string, number, number][],
  ];
  const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const row = rows[0];
  if (!row) return { nowMs };
  return { entry: { id: row[0], consumer: row[1], idleMs: row[2], deliveries: row[3] }, nowMs };
}

/** Polls until `check` holds or the deadline passes; returns whether it held. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** Waits until the group has delivered every entry up to `lastId` and nothing is pending. */
async function waitUntilSettled(stream: string, lastId: string, timeoutMs: number): Promise<boolean> {
  return waitFor(
    async () => (await lastDeliveredId(stream)) === lastId && (await pendingEntries(stream)).length === 0,
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------------

task(1, "Consume jobs with a consumer group; acknowledge only what succeeded", () => {
  it("jobs already in the stream before any worker existed are all applied and acknowledged", async () => {
    const stream = streamFor("backlog");
    const [alice, bob] = [accountFor("backlog", 1), accountFor("backlog", 2)];
    await createAccount(alice);
    await createAccount(bob, 100);
    const backlog = [newJob(alice, 10), newJob(alice, 20), newJob(bob, 5), newJob(alice, 30), newJob(bob, 7)];
    let lastId = "";
    for (const job of backlog) lastId = await enqueue(stream, job);

    await jobs.startWorker(stream, "backlog-worker");
    await waitUntilSettled(stream, lastId, SETTLE_MS);

    expect(
      (await groups(stream)).map((group) => group.name),
      "startWorker() must create the consumer group `workers` on the stream (XGROUP CREATE <stream> workers 0 MKSTREAM)",
    ).toContain(GROUP);
    expect(
      await lastDeliveredId(stream),
      `the group never delivered the last of the ${backlog.length} jobs that were waiting before it existed. ` +
        'A group created at "$" only sees entries added after it; create it at id 0',
    ).toBe(lastId);
    expect(
      { alice: await pointsOf(alice), bob: await pointsOf(bob) },
      "each job must add its points to the field `points` of the hash account:<account> (HINCRBY)",
    ).toEqual({ alice: 60, bob: 112 });
    expect(
      await pendingReport(stream),
      "these jobs were delivered but never acknowledged, so they sit in the group's pending entries list " +
        "(XPENDING) and will run again: XACK each job once its effect is applied",
    ).toEqual([]);
  });

  it("a second worker in another process joins the existing group, and new jobs are applied once", async () => {
    const stream = streamFor("shared");
    const account = accountFor("shared");
    await createAccount(account);
    await jobs.startWorker(stream, "worker-a");
    const second = (await startLearner()).module<JobWorker>();
    try {
      await expect(
        second.startWorker(stream, "worker-b"),
        "startWorker() failed on a second instance: the group already existed. XGROUP CREATE answers BUSYGROUP " +
          "then, which is not an error for a worker that only wants the group to exist",
      ).resolves.toBeUndefined();

      let lastId = "";
      for (let points = 1; points <= 10; points++) lastId = await enqueue(stream, newJob(account, points));
      await waitUntilSettled(stream, lastId, SETTLE_MS);

      expect(
        await pointsOf(account),
        "ten jobs worth 1..10 points were added while two workers ran: the account must hold 55 points, each job " +
          "applied once by whichever worker the group handed it to",
      ).toBe(55);
      expect(
        await pendingReport(stream),
        "jobs added while the workers run must be acknowledged after they are applied",
      ).toEqual([]);
    } finally {
      await second.stopWorkers().catch(() => undefined);
    }
  });
});

task(2, "Make each job's effect idempotent", () => {
  it("the same jobId enqueued twice adds its points once, and both entries are acknowledged", async () => {
    const stream = streamFor("duplicate");
    const account = accountFor("duplicate");
    await createAccount(account);
    const twice = newJob(account, 40);
    const once = newJob(account, 2);
    // A producer that timed out on XADD and retried: one job, two stream entries with different ids.
    await enqueue(stream, twice);
    await enqueue(stream, twice);
    const lastId = await enqueue(stream, once);

    await jobs.startWorker(stream, "dedup-worker");
    await waitUntilSettled(stream, lastId, SETTLE_MS);

    expect(
      await pointsOf(account),
      `job ${twice.jobId} (40 points) was enqueued twice and must count once, plus 2 points: the stream entry id ` +
        "differs between the copies, the jobId does not. Record processed:<jobId> and add the points only when it " +
        "was not there, in one atomic step",
    ).toBe(42);
    expect(
      await pendingReport(stream),
      "a duplicate whose jobId was already applied changes nothing but must still be acknowledged",
    ).toEqual([]);
    for (const job of [twice, once]) {
      const ttl = await redis().ttl(`processed:${job.jobId}`);
      expect(ttl, `after job ${job.jobId} was applied the key processed:${job.jobId} must exist`).not.toBe(
        -2,
      );
      expect(
        ttl,
        `processed:${job.jobId} must expire: give it a TTL of PROCESSED_TTL_SECONDS (${PROCESSED_TTL_SECONDS} s), ` +
          "or one key per job ever run fills Redis",
      ).toBeGreaterThan(0);
      expect(ttl, `processed:${job.jobId} has a TTL above PROCESSED_TTL_SECONDS`).toBeLessThanOrEqual(
        PROCESSED_TTL_SECONDS,
      );
    }
  });

  it("a job redelivered after its worker applied it and died before XACK changes nothing", async () => {
    const stream = streamFor("applied-not-acked");
    const account = accountFor("applied-not-acked");
    const job = newJob(account, 25);
    await createGroup(stream);
    const id = await enqueue(stream, job);
    await takeAs(stream, "crashed-worker");
    // What the crashed worker got done: the points and the record, in one step, but no XACK.
    await createAccount(account, job.points);
    await redis().set(`processed:${job.jobId}`, "1", "EX", PROCESSED_TTL_SECONDS);
    await age(stream, id, "crashed-worker", 5_000, 1);

    await jobs.startWorker(stream, "next-worker");
    await waitUntilSettled(stream, id, RECLAIM_MS);

    expect(
      await pendingReport(stream),
      `job entry ${id} was held by a worker that died 5 s ago: a running worker must claim it (XAUTOCLAIM with ` +
        `min-idle-time CLAIM_IDLE_MS), run it and acknowledge it`,
    ).toEqual([]);
    expect(
      await pointsOf(account),
      `job ${job.jobId} had already been applied (processed:${job.jobId} existed) before its worker died without ` +
        "XACK; running it again added its points a second time. The redelivery must find processed:<jobId> and " +
        "change nothing",
    ).toBe(job.points);
    expect(
      await deadLetters(stream),
      "a redelivered job that was already applied is simply acknowledged, not dead-lettered",
    ).toEqual([]);
  });
});

task(3, "Retry failed jobs and reclaim the jobs of dead workers", () => {
  it("a failed attempt leaves the job pending, and a retry applies it once the account exists", async () => {
    const stream = streamFor("retry");
    const account = accountFor("retry");
    const job = newJob(account, 15);
    await jobs.startWorker(stream, "retry-worker");
    const id = await enqueue(stream, job);

    // Still pending well after the attempt (a few ms) failed: not acknowledged on the way in.
    const stillPending = await waitFor(
      async () => ((await pendingEntry(stream, id))?.idleMs ?? 0) >= STILL_PENDING_MS,
      SETTLE_MS,
    );
    expect(
      stillPending,
      `job entry ${id} failed (account:${account} did not exist yet) and is not pending: it was acknowledged ` +
        "anyway, or never read. XACK only after the effect is applied; a failed job must stay in the pending " +
        "entries list so that it is retried",
    ).toBe(true);

    await createAccount(account); // the signup service catches up
    await waitUntilSettled(stream, id, RECLAIM_MS);
    expect(
      await pointsOf(account),
      `job entry ${id} failed while its account was missing and must be retried once it has been idle ` +
        `${CLAIM_IDLE_MS} ms (XAUTOCLAIM claims your own failed jobs too); the account now exists, so the ` +
        "retry must add the points",
    ).toBe(job.points);
    expect(await pendingReport(stream), "the successful retry must acknowledge the job").toEqual([]);
    expect(
      await deadLetters(stream),
      `one failure is no reason to dead-letter a job: only a failure on delivery ${MAX_DELIVERIES} is`,
    ).toEqual([]);
  });

  it("a job held by a stalled consumer is reclaimed once idle for CLAIM_IDLE_MS, not before", async () => {
    const stream = streamFor("stalled");
    const account = accountFor("stalled");
    const job = newJob(account, 33);
    await createAccount(account);
    await createGroup(stream);
    const id = await enqueue(stream, job);
    await takeAs(stream, "stalled-worker");
    // When Redis handed the entry to stalled-worker, by Redis's clock.
    const held = await pendingAt(stream, id);
    const heldAt = held.nowMs - (held.entry?.idleMs ?? 0);

    await jobs.startWorker(stream, "rescuer");
    // Watch the entry until it has been idle CLAIM_IDLE_MS. A claim seen before that happened before that.
    let takenAfterMs: number | undefined;
    let owner = "stalled-worker";
    await waitFor(async () => {
      const { entry, nowMs } = await pendingAt(stream, id);
      const elapsed = nowMs - heldAt;
      if (entry?.consumer !== "stalled-worker") {
        if (elapsed < CLAIM_IDLE_MS - 10) takenAfterMs = elapsed;
        owner = entry ? entry.consumer : "nobody (acknowledged)";
        return true;
      }
      return elapsed >= CLAIM_IDLE_MS;
    }, 2 * CLAIM_IDLE_MS);
    expect(
      takenAfterMs,
      `the job was taken from stalled-worker at most ${takenAfterMs} ms after it read it (now held by ${owner}); a ` +
        `job may only be claimed once it has been idle ${CLAIM_IDLE_MS} ms: pass CLAIM_IDLE_MS as XAUTOCLAIM's ` +
        "min-idle-time, or every busy worker has its jobs stolen and run twice",
    ).toBeUndefined();

    await waitUntilSettled(stream, id, RECLAIM_MS);
    expect(
      await pendingReport(stream),
      `job entry ${id} is still held by stalled-worker, which stopped responding: once the entry has been ` +
        `idle ${CLAIM_IDLE_MS} ms a running worker must claim it with XAUTOCLAIM, whichever consumer holds it`,
    ).toEqual([]);
    expect(await pointsOf(account), "the reclaimed job must be applied by the worker that claimed it").toBe(
      job.points,
    );
  });

  it("the jobs of a worker killed with SIGKILL are finished by a worker with another name", async () => {
    const stream = streamFor("killed");
    const account = accountFor("killed");
    const job = newJob(account, 12);
    const doomed = await startLearner();
    await doomed.module<JobWorker>().startWorker(stream, "doomed-worker");
    const id = await enqueue(stream, job);
    // The account does not exist yet, so the doomed worker's attempt fails and the job stays in its PEL.
    const heldByDoomed = await waitFor(async () => {
      const entry = await pendingEntry(stream, id);
      return entry?.consumer === "doomed-worker" && entry.idleMs >= STILL_PENDING_MS;
    }, SETTLE_MS);
    expect(
      heldByDoomed,
      `job entry ${id} failed in doomed-worker (its account did not exist yet) and must stay pending for it: ` +
        "XACK only what succeeded",
    ).toBe(true);

    await doomed.kill(); // a machine that dies never comes back under its consumer name
    await createAccount(account);
    await jobs.startWorker(stream, "survivor");
    await waitUntilSettled(stream, id, RECLAIM_MS);

    expect(
      await pendingReport(stream),
      "doomed-worker was killed while it held this job, and no worker of that name will ever return: re-reading " +
        "only your own pending entries (XREADGROUP ... 0) never recovers it. Claim every idle entry with XAUTOCLAIM",
    ).toEqual([]);
    expect(await pointsOf(account), "the survivor must apply the job of the killed worker once").toBe(
      job.points,
    );
  });
});

task(4, "Dead-letter jobs that keep failing", () => {
  it("a job that fails on every attempt goes to <stream>:dlq after MAX_DELIVERIES deliveries and is acknowledged", async () => {
    const stream = streamFor("failing");
    const account = accountFor("failing"); // never created
    const job = newJob(account, 70);
    await jobs.startWorker(stream, "failing-worker");
    const id = await enqueue(stream, job);

    let mostDeliveries = 0;
    let letters: DeadLetter[] = [];
    await waitFor(
      async () => {
        mostDeliveries = Math.max(mostDeliveries, (await pendingEntry(stream, id))?.deliveries ?? 0);
        letters = await deadLetters(stream);
        return letters.length > 0;
      },
      2 * CLAIM_IDLE_MS + RECLAIM_MS,
    );

    expect(
      letters.length,
      `job entry ${id} failed on every attempt (its account never exists) and after ${MAX_DELIVERIES} deliveries ` +
        `must be added to ${stream}:dlq`,
    ).toBe(1);
    expect(
      mostDeliveries,
      `the job was dead-lettered without being retried: only a failure on delivery ${MAX_DELIVERIES} (the delivery ` +
        "count XPENDING reports) dead-letters a job whose failure may heal",
    ).toBeGreaterThanOrEqual(2);
    const { fields } = letters[0]!;
    expect(
      { jobId: fields.jobId, account: fields.account, points: fields.points, sourceId: fields.sourceId },
      "the dead letter must carry the job's fields unchanged and `sourceId`, the id of the entry in the jobs stream",
    ).toEqual({ jobId: job.jobId, account, points: String(job.points), sourceId: id });
    expect(fields.reason ?? "", "the dead letter must say why in a non-empty `reason` field").not.toBe("");
    expect(
      fields.deliveries,
      `the dead letter's \`deliveries\` must be the delivery count from XPENDING when it gave up: ${MAX_DELIVERIES}`,
    ).toBe(String(MAX_DELIVERIES));

    await waitFor(async () => (await pendingEntries(stream)).length === 0, 500);
    expect(
      await pendingReport(stream),
      "a dead-lettered job must be acknowledged (in the same MULTI as the XADD to the dlq), or it is claimed and " +
        "dead-lettered again and again",
    ).toEqual([]);
    expect(
      await pointsOf(account),
      `the failed job created account:${account}: a job whose account does not exist must change nothing ` +
        "(HINCRBY creates a missing hash; check that it exists in the same atomic step)",
    ).toBeUndefined();
  });

  it("a job already delivered MAX_DELIVERIES times without finishing is dead-lettered without running it", async () => {
    const stream = streamFor("crashing");
    const account = accountFor("crashing");
    const job = newJob(account, 90);
    await createAccount(account);
    await createGroup(stream);
    const id = await enqueue(stream, job);
    await takeAs(stream, "crashed-worker");
    // As if three workers in turn took the job and died on it (say it runs them out of memory).
    await age(stream, id, "crashed-worker", 5_000, MAX_DELIVERIES);

    await jobs.startWorker(stream, "careful-worker");
    let letters: DeadLetter[] = [];
    await waitFor(async () => (letters = await deadLetters(stream)).length > 0, RECLAIM_MS);

    expect(
      await pointsOf(account),
      `job entry ${id} had been delivered ${MAX_DELIVERIES} times and no worker ever finished it; the claim that ` +
        `made it ${MAX_DELIVERIES + 1} must not run it again. Take the delivery count from XPENDING, not from a ` +
        "counter in your process: the workers that counted before it died with their counters",
    ).toBe(0);
    expect(
      letters.map((letter) => ({ sourceId: letter.fields.sourceId, deliveries: letter.fields.deliveries })),
      `the job must be dead-lettered once, with \`deliveries\` ${MAX_DELIVERIES + 1} (its delivery count after your claim)`,
    ).toEqual([{ sourceId: id, deliveries: String(MAX_DELIVERIES + 1) }]);
    expect(
      letters[0]?.fields.reason ?? "",
      "the dead letter must say why in a non-empty `reason` field",
    ).not.toBe("");
    await waitFor(async () => (await pendingEntries(stream)).length === 0, 500);
    expect(await pendingReport(stream), "a dead-lettered job must be acknowledged").toEqual([]);
  });

  it("malformed jobs are dead-lettered on their first delivery and the jobs behind them still run", async () => {
    const stream = streamFor("malformed");
    const account = accountFor("malformed");
    await createAccount(account);
    const malformed: Record<string, string>[] = [
      { jobId: randomUUID(), account, points: "ten" },
      { jobId: randomUUID(), account, points: "-5" },
      { account, points: "5" },
    ];
    const malformedIds: string[] = [];
    for (const fields of malformed) malformedIds.push(await enqueueFields(stream, fields));
    const valid = newJob(account, 8);
    const lastId = await enqueue(stream, valid);

    await jobs.startWorker(stream, "strict-worker");
    await waitUntilSettled(stream, lastId, SETTLE_MS);

    expect(
      await pointsOf(account),
      "only the valid job may add points: points must be a positive integer, and a job without jobId is invalid",
    ).toBe(valid.points);
    const letters = await deadLetters(stream);
    expect(
      letters.map((letter) => ({ sourceId: letter.fields.sourceId, deliveries: letter.fields.deliveries })),
      "each malformed job (points `ten`, points `-5`, no jobId) must be dead-lettered on its first delivery " +
        "(`deliveries` 1): retrying cannot fix it",
    ).toEqual(malformedIds.map((sourceId) => ({ sourceId, deliveries: "1" })));
    expect(
      letters.map((letter) => letter.fields.reason ?? ""),
      "each dead letter must say why in a non-empty `reason` field",
    ).not.toContain("");
    expect(await pendingReport(stream), "malformed jobs must be acknowledged once dead-lettered").toEqual([]);
  });
});
