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

interface ClientInfo {
  id: string;
  flags: string;
  cmd: string;
}

/** CLIENT LIST as records: every connection Redis has, with its flags ("b": blocked) and last command. */
async function clients(): Promise<ClientInfo[]> {
  const list = (await redis().client("LIST")) as string;
  return list
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const record: Record<string, string> = {};
      for (const pair of line.trim().split(" ")) {
        const eq = pair.indexOf("=");
        if (eq > 0) record[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      return { id: record.id ?? "", flags: record.flags ?? "", cmd: record.cmd ?? "" };
    });
}

/** Ids of the connections blocked in XREADGROUP ... BLOCK right now. */
async function blockedReaders(): Promise<string[]> {
  return (await clients())
    .filter((client) => client.flags.includes("b") && client.cmd === "xreadgroup")
    .map((client) => client.id);
}

/** How many XAUTOCLAIM calls Redis has run so far (INFO commandstats), and Redis's clock in ms. */
async function autoclaimCalls(): Promise<{ calls: number; nowMs: number }> {
  const [info, time] = await Promise.all([redis().info("commandstats"), redis().time()]);
  const [seconds, micros] = time as unknown as [string | number, string | number];
  const calls = Number(/cmdstat_xautoclaim:calls=(\d+)/.exec(info)?.[1] ?? 0);
  return { calls, nowMs: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
}

interface Command {
  /** The connection that sent it ("ip:port"), or "lua" for a command a script ran. */
  source: string;
  args: string[];
}

/** Records every command Redis runs from now on (MONITOR), in the order Redis runs them. */
async function recordCommands(): Promise<{ commands: Command[]; stop: () => void }> {
  const commands: Command[] = [];
  const monitor = await redis().monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    commands.push({ source, args: args.map(String) });
  });
  return { commands, stop: () => monitor.disconnect() };
}

/**
 * The dead letters of `stream` whose XADD to `<stream>:dlq` did not run in one MULTI/EXEC (or one script)
 * together with the XACK of the same entry, as "<sourceId>: why" lines.
 */
function deadLettersNotAtomic(commands: Command[], stream: string): string[] {
  const name = (command: Command) => command.args[0]?.toLowerCase() ?? "";
  const acks = (command: Command, sourceId: string) =>
    name(command) === "xack" && command.args[1] === stream && command.args.slice(3).includes(sourceId);
  const problems: string[] = [];
  commands.forEach((command, index) => {
    if (name(command) !== "xadd" || command.args[1] !== `${stream}:dlq`) return;
    const field = command.args.indexOf("sourceId");
    const sourceId = field > 0 ? (command.args[field + 1] ?? "") : "";
    if (command.source === "lua") {
      // A script runs alone: its commands are the "lua" lines around this one.
      let first = index;
      while (first > 0 && commands[first - 1]!.source === "lua") first--;
      let last = index;
      while (last + 1 < commands.length && commands[last + 1]!.source === "lua") last++;
      if (!commands.slice(first, last + 1).some((other) => acks(other, sourceId)))
        problems.push(`${sourceId}: the script that added the dead letter did not XACK the entry`);
      return;
    }
    const own = commands.filter((other) => other.source === command.source);
    const at = own.indexOf(command);
    let start = at - 1;
    while (start >= 0 && !["multi", "exec", "discard"].includes(name(own[start]!))) start--;
    let end = at + 1;
    while (end < own.length && !["multi", "exec", "discard"].includes(name(own[end]!))) end++;
    const inTransaction = start >= 0 && name(own[start]!) === "multi" && name(own[end] ?? command) === "exec";
    if (!inTransaction) problems.push(`${sourceId}: the XADD to ${stream}:dlq ran outside MULTI/EXEC`);
    else if (!own.slice(start, end).some((other) => acks(other, sourceId)))
      problems.push(`${sourceId}: the MULTI that added the dead letter did not XACK the entry`);
  });
  return problems;
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

  it("two workers of one process each read on a connection of their own, and stopWorkers() closes them", async () => {
    const [first, second] = [streamFor("own-conn-1"), streamFor("own-conn-2")];
    const account = accountFor("own-conn");
    await createAccount(account);
    await jobs.startWorker(first, "own-conn-a");
    await jobs.startWorker(second, "own-conn-b");

    const seen = new Set<string>();
    const bothWaiting = await waitFor(
      async () => {
        const readers = await blockedReaders();
        for (const id of readers) seen.add(id);
        return readers.length >= 2;
      },
      3_000,
      5,
    );
    expect(
      bothWaiting,
      "two workers of one process, on two streams, were never both waiting in XREADGROUP ... BLOCK at the same " +
        "time: they share one Redis connection, so each blocking read holds up the other worker. Give every " +
        "worker its own connection (connect() in startWorker)",
    ).toBe(true);

    const lastFirst = await enqueue(first, newJob(account, 3));
    const lastSecond = await enqueue(second, newJob(account, 4));
    await waitUntilSettled(first, lastFirst, SETTLE_MS);
    await waitUntilSettled(second, lastSecond, SETTLE_MS);
    expect(await pointsOf(account), "each of the two workers must apply the job of its own stream").toBe(7);

    await expect(
      jobs.stopWorkers(),
      "stopWorkers() must resolve once every worker stopped",
    ).resolves.toBeUndefined();
    let open: string[] = [];
    const closed = await waitFor(async () => {
      const ids = new Set((await clients()).map((client) => client.id));
      open = [...seen].filter((id) => ids.has(id));
      return open.length === 0;
    }, 2_000);
    expect(
      closed,
      `after stopWorkers() resolved, ${open.length} of the workers' Redis connections are still open: stopWorkers() ` +
        "must close each worker's connection (quit()) once its loop has ended, or every restart leaks connections",
    ).toBe(true);

    const late = await enqueue(first, newJob(account, 1_000));
    await sleep(CLAIM_IDLE_MS);
    expect(
      await lastDeliveredId(first),
      "a job added after stopWorkers() resolved was still read: stopped workers must not read any more",
    ).not.toBe(late);
  });

  it("startWorker() fails when the consumer group cannot be created", async () => {
    const stream = streamFor("not-a-stream");
    // A key of another type under the stream's name: XGROUP CREATE ... MKSTREAM answers WRONGTYPE, not BUSYGROUP.
    await redis().set(stream, "a string, not a stream");
    await expect(
      jobs.startWorker(stream, "misplaced-worker"),
      `${stream} holds a string, so the group could not be created (XGROUP CREATE answered WRONGTYPE), yet ` +
        "startWorker() resolved as if the worker ran. Only BUSYGROUP means the group is there; rethrow any other " +
        "error of XGROUP CREATE so the start fails",
    ).rejects.toThrow();
  });

  it("a worker started again after stopWorkers() processes the jobs added while it was stopped", async () => {
    const stream = streamFor("restart");
    const account = accountFor("restart");
    await createAccount(account);
    await jobs.startWorker(stream, "restart-worker");
    const before = await enqueue(stream, newJob(account, 5));
    await waitUntilSettled(stream, before, SETTLE_MS);
    expect(await pointsOf(account), "the job added before the restart must be applied").toBe(5);
    await expect(
      jobs.stopWorkers(),
      "stopWorkers() must resolve once every worker stopped",
    ).resolves.toBeUndefined();

    const during = await enqueue(stream, newJob(account, 6));
    await expect(
      jobs.startWorker(stream, "restart-worker"),
      "startWorker() after stopWorkers() must start the worker again",
    ).resolves.toBeUndefined();
    await waitUntilSettled(stream, during, SETTLE_MS);
    expect(
      await pointsOf(account),
      "the worker was stopped and started again under the same name, but the job added while it was stopped was " +
        "never applied: startWorker() after stopWorkers() must run a worker again (stopWorkers() must forget " +
        "the workers it stopped, so a new start is not taken for one still running)",
    ).toBe(11);
    expect(await pendingReport(stream), "the job applied after the restart must be acknowledged").toEqual([]);
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
      expect(
        ttl,
        `processed:${job.jobId} expires in ${ttl} s: its TTL must be PROCESSED_TTL_SECONDS (${PROCESSED_TTL_SECONDS} s, ` +
          "EX not PX), the window in which a redelivery of the job is still recognised",
      ).toBeGreaterThanOrEqual(PROCESSED_TTL_SECONDS - 60);
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

  it("one jobId handed to two workers at the same instant is applied once", async () => {
    // One job id enqueued on two streams: each copy goes to the worker of its stream. Both workers wait in
    // XREADGROUP when one MULTI adds both copies, so Redis hands them over in the same instant and both
    // workers reach their processed:<jobId> check together.
    const [left, right] = [streamFor("race-left"), streamFor("race-right")];
    const account = accountFor("race");
    await createAccount(account);
    await jobs.startWorker(left, "racer-left");
    await jobs.startWorker(right, "racer-right");

    let expected = 0;
    for (let round = 1; round <= 5; round++) {
      const bothWaiting = await waitFor(async () => (await blockedReaders()).length >= 2, 3_000, 5);
      expect(
        bothWaiting,
        "the two workers of this process were never both waiting in XREADGROUP ... BLOCK: give each worker its " +
          "own connection",
      ).toBe(true);
      const job = newJob(account, round);
      const fields = ["jobId", job.jobId, "account", account, "points", String(job.points)];
      const added = await redis()
        .multi()
        .xadd(left, "*", ...fields)
        .xadd(right, "*", ...fields)
        .exec();
      const [leftId, rightId] = (added ?? []).map(([, id]) => String(id));
      expect(leftId && rightId, "the grader could not add the two copies of the job").toBeTruthy();
      await waitUntilSettled(left, leftId!, SETTLE_MS);
      await waitUntilSettled(right, rightId!, SETTLE_MS);
      expected += job.points;
      expect(
        await pointsOf(account),
        `job ${job.jobId} (${job.points} points) reached two workers at the same instant and was applied twice: ` +
          "both checked processed:<jobId> before either wrote it. Check and write in one atomic step: a Lua " +
          "script (SET processed:<jobId> NX EX, then HINCRBY), or MULTI/EXEC under WATCH processed:<jobId>",
      ).toBe(expected);
    }
    expect(await pendingReport(left), "both copies must be acknowledged").toEqual([]);
    expect(await pendingReport(right), "both copies must be acknowledged").toEqual([]);
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

  it("a job kept idle for less than CLAIM_IDLE_MS is never taken from its worker", async () => {
    const stream = streamFor("busy");
    const account = accountFor("busy");
    await createAccount(account);
    await createGroup(stream);
    const id = await enqueue(stream, newJob(account, 5));
    await takeAs(stream, "busy-worker");
    // Keeps the entry's idle time at about 270 ms, below CLAIM_IDLE_MS, while busy-worker holds it: the state of
    // a job whose worker is still on it. The script leaves the entry alone once anybody else holds it.
    const keepBusy = `
      local rows = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
      if rows[1] == nil or rows[1][2] ~= ARGV[3] then return rows[1] and rows[1][2] or 'nobody' end
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'IDLE', 270, 'RETRYCOUNT', 1)
      return ARGV[3]`;
    const holder = async () => String(await redis().eval(keepBusy, 1, stream, GROUP, id, "busy-worker"));
    await holder();
    await jobs.startWorker(stream, "thief");
    let owner = "busy-worker";
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline && owner === "busy-worker") {
      owner = await holder();
      await sleep(10);
    }
    expect(
      owner,
      `a job whose entry had been idle only about 270 ms was taken from busy-worker (now held by ${owner}): ` +
        `XAUTOCLAIM's min-idle-time must be CLAIM_IDLE_MS (${CLAIM_IDLE_MS} ms), or jobs are stolen from workers ` +
        "that are still running them and run twice",
    ).toBe("busy-worker");
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

  it("an idle worker looks for abandoned jobs with XAUTOCLAIM at least every 250 ms", async () => {
    const stream = streamFor("cadence");
    await jobs.startWorker(stream, "cadence-worker");
    await sleep(300);
    const before = await autoclaimCalls();
    await sleep(3_000);
    const after = await autoclaimCalls();
    const windowMs = after.nowMs - before.nowMs;
    const calls = after.calls - before.calls;
    // At least every 250 ms means about windowMs / 250 calls. Redis ends a BLOCK only at its next timer tick
    // (up to 100 ms late) and the machine may be loaded, so one call per 600 ms is the bar.
    expect(
      calls,
      `an idle worker ran XAUTOCLAIM ${calls} times in ${windowMs} ms; it must look for abandoned jobs at least ` +
        "every 250 ms, so a job waits at most about CLAIM_IDLE_MS + 250 ms. Keep each XREADGROUP BLOCK at 250 ms " +
        "or less and claim between reads (or on a timer)",
    ).toBeGreaterThanOrEqual(Math.floor(windowMs / 600));
  });
});

task(4, "Dead-letter jobs that keep failing", () => {
  it("a job that fails on every attempt goes to <stream>:dlq after MAX_DELIVERIES deliveries and is acknowledged", async () => {
    const stream = streamFor("failing");
    const account = accountFor("failing"); // never created
    const job = newJob(account, 70);
    await jobs.startWorker(stream, "failing-worker");
    // A producer may add fields of its own: the dead letter keeps them all.
    const id = await enqueueFields(stream, {
      jobId: job.jobId,
      account,
      points: String(job.points),
      campaign: "spring",
    });

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
      {
        jobId: fields.jobId,
        account: fields.account,
        points: fields.points,
        campaign: fields.campaign,
        sourceId: fields.sourceId,
      },
      "the dead letter must carry all the job's fields unchanged (here also the producer's own field `campaign`) " +
        "and `sourceId`, the id of the entry in the jobs stream",
    ).toEqual({ jobId: job.jobId, account, points: String(job.points), campaign: "spring", sourceId: id });
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

  it("a job on its last allowed delivery still runs, and is applied if it can be", async () => {
    const stream = streamFor("last-chance");
    const account = accountFor("last-chance");
    const job = newJob(account, 45);
    await createAccount(account);
    await createGroup(stream);
    const id = await enqueue(stream, job);
    await takeAs(stream, "failed-worker");
    // Two deliveries so far, both failed (say the account did not exist yet); the account exists now.
    await age(stream, id, "failed-worker", 5_000, MAX_DELIVERIES - 1);

    await jobs.startWorker(stream, "last-chance-worker");
    await waitUntilSettled(stream, id, RECLAIM_MS);

    expect(
      await deadLetters(stream),
      `job entry ${id} was on delivery ${MAX_DELIVERIES} (its delivery count after your claim) and was dead-lettered ` +
        `without running: only a job delivered MORE than ${MAX_DELIVERIES} times is given up unrun; on delivery ` +
        `${MAX_DELIVERIES} it runs once more, and only a failure then dead-letters it`,
    ).toEqual([]);
    expect(
      await pointsOf(account),
      `the account now exists, so delivery ${MAX_DELIVERIES} of the job must apply it`,
    ).toBe(job.points);
    expect(await pendingReport(stream), "the applied job must be acknowledged").toEqual([]);
  });

  it("malformed jobs are dead-lettered on their first delivery and the jobs behind them still run", async () => {
    const stream = streamFor("malformed");
    const account = accountFor("malformed");
    await createAccount(account);
    const malformed: Record<string, string>[] = [
      { jobId: randomUUID(), account, points: "ten" },
      { jobId: randomUUID(), account, points: "-5" },
      { account, points: "5" },
      { jobId: "", account, points: "5" },
      { jobId: randomUUID(), account: "", points: "5" },
      { jobId: randomUUID(), points: "5" },
      { jobId: randomUUID(), account },
      { jobId: randomUUID(), account, points: "" },
      { jobId: randomUUID(), account, points: "0" },
      { jobId: randomUUID(), account, points: "2.5" },
      { jobId: randomUUID(), account, points: "1e2" },
      { jobId: randomUUID(), account, points: "0x10" },
      { jobId: randomUUID(), account, points: " 7" },
      { jobId: randomUUID(), account, points: "7 " },
      { jobId: randomUUID(), account, points: "+7" },
    ];
    const malformedIds: string[] = [];
    for (const fields of malformed) malformedIds.push(await enqueueFields(stream, fields));
    const valid = newJob(account, 8);
    const lastId = await enqueue(stream, valid);

    const recording = await recordCommands();
    try {
      await jobs.startWorker(stream, "strict-worker");
      await waitUntilSettled(stream, lastId, SETTLE_MS);
    } finally {
      recording.stop();
    }

    expect(
      await pointsOf(account),
      "only the valid job may add points: points must be digits only and above 0 (so not `1e2`, `0x10`, ` 7`, " +
        "`+7`, `2.5` or `0`: Number() accepts most of those), and jobId and account must be present and non-empty",
    ).toBe(valid.points);
    const letters = await deadLetters(stream);
    expect(
      letters.map((letter) => ({ sourceId: letter.fields.sourceId, deliveries: letter.fields.deliveries })),
      "each malformed job must be dead-lettered on its first delivery (`deliveries` 1), in stream order: retrying " +
        "cannot fix it. Malformed: jobId or account missing or empty, points not digits only or not above 0 " +
        "(`ten`, `-5`, ``, `0`, `2.5`, `1e2`, `0x10`, ` 7`, `7 `, `+7`)",
    ).toEqual(malformedIds.map((sourceId) => ({ sourceId, deliveries: "1" })));
    expect(
      letters.map((letter) => letter.fields.reason ?? ""),
      "each dead letter must say why in a non-empty `reason` field",
    ).not.toContain("");
    expect(await pendingReport(stream), "malformed jobs must be acknowledged once dead-lettered").toEqual([]);
    expect(
      deadLettersNotAtomic(recording.commands, stream),
      `the XADD to ${stream}:dlq and the XACK of the job must run together, in one MULTI/EXEC (or one script): ` +
        "sent apart, a crash in between leaves a job dead-lettered and still pending (it is dead-lettered again) " +
        "or acknowledged and never dead-lettered (lost)",
    ).toEqual([]);
  });
});
