import { Redis } from "ioredis";

/** The consumer group every worker of a stream joins. */
export const GROUP = "workers";
/** A pending job idle this long is presumed abandoned (its worker died or failed it) and may be claimed. */
export const CLAIM_IDLE_MS = 500;
/** A job is attempted at most this many times; then it goes to the dead-letter stream. */
export const MAX_DELIVERIES = 3;
/** How long the record that a job was applied is kept: the window in which a redelivery is recognised. */
export const PROCESSED_TTL_SECONDS = 86_400;

/** The fields of one entry of a jobs stream (Redis returns them as a flat [field, value, ...] list). */
export interface Job {
  jobId: string;
  account: string;
  points: number;
}

/** A new connection to process.env.REDIS_URL. A blocking XREADGROUP holds its connection while it waits. */
export function connect(): Redis {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error("REDIS_URL is not set");
  return new Redis(url);
}

/** How long one blocking read waits; the claim pass runs between reads, so at least this often. */
const BLOCK_MS = 200;
/** How many idle entries one XAUTOCLAIM takes over. */
const CLAIM_COUNT = 10;

type Entry = [id: string, fields: string[] | null];

/** Outcome of one attempt at applying a job. */
type Attempt = { ok: true } | { ok: false; reason: string };

interface Running {
  stopping: boolean;
  conn: Redis;
  done: Promise<void>;
}

const running = new Set<Running>();

function fieldsToMap(fields: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const key = fields[i] ?? "";
    if (!map.has(key)) map.set(key, fields[i + 1] ?? "");
  }
  return map;
}

/** A well-formed job; points kept as canonical decimal digits (HINCRBY range errors fail the attempt). */
type ParsedJob = Omit<Job, "points"> & { points: string };

/** Returns the job, or the reason it is malformed. */
function parseJob(fields: string[]): ParsedJob | string {
  const map = fieldsToMap(fields);
  const jobId = map.get("jobId");
  const account = map.get("account");
  const points = map.get("points");
  if (jobId === undefined || jobId === "") return "malformed job: jobId is missing or empty";
  if (account === undefined || account === "") return "malformed job: account is missing or empty";
  if (points === undefined || !/^[0-9]+$/.test(points)) {
    return `malformed job: points ${JSON.stringify(points ?? null)} is not a positive integer`;
  }
  const value = BigInt(points);
  if (value <= 0n) return `malformed job: points ${JSON.stringify(points)} is not above 0`;
  // HINCRBY rejects leading zeros ("007"), so hand it the canonical digits.
  return { jobId, account, points: value.toString() };
}

function isBusyGroup(err: unknown): boolean {
  return err instanceof Error && err.message.includes("BUSYGROUP");
}

function isNoGroup(err: unknown): boolean {
  return err instanceof Error && err.message.includes("NOGROUP");
}

async function createGroup(conn: Redis, stream: string): Promise<void> {
  try {
    await conn.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
  } catch (err) {
    if (!isBusyGroup(err)) throw err;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Applies a job under WATCH: the processed marker, the points and the XACK commit together in one
 * MULTI, or not at all if another worker touched the marker or the account in between (then retry).
 */
async function apply(conn: Redis, stream: string, id: string, job: ParsedJob): Promise<Attempt> {
  const processedKey = `processed:${job.jobId}`;
  const accountKey = `account:${job.account}`;
  for (;;) {
    await conn.watch(processedKey, accountKey);
    const [applied, exists] = await Promise.all([conn.exists(processedKey), conn.exists(accountKey)]);
    if (applied === 1) {
      await conn.unwatch();
      await conn.xack(stream, GROUP, id);
      return { ok: true };
    }
    if (exists === 0) {
      await conn.unwatch();
      return { ok: false, reason: `account ${job.account} does not exist` };
    }
    const result = await conn
      .multi()
      .hincrby(accountKey, "points", job.points)
      .set(processedKey, "1", "EX", PROCESSED_TTL_SECONDS)
      .xack(stream, GROUP, id)
      .exec();
    if (result === null) continue; // a watched key changed: look again
    for (const [err] of result) {
      if (err) return { ok: false, reason: `applying the job failed: ${err.message}` };
    }
    return { ok: true };
  }
}

async function deliveryCount(conn: Redis, stream: string, id: string): Promise<number | null> {
  const rows = (await conn.xpending(stream, GROUP, id, id, 1)) as [string, string, number, number][];
  const row = rows[0];
  if (row === undefined) return null; // no longer pending (acknowledged by someone else)
  return Number(row[3]);
}

async function deadLetter(
  conn: Redis,
  stream: string,
  id: string,
  fields: string[],
  reason: string,
  deliveries: number,
): Promise<void> {
  await conn
    .multi()
    .xadd(`${stream}:dlq`, "*", ...fields, "sourceId", id, "reason", reason, "deliveries", String(deliveries))
    .xack(stream, GROUP, id)
    .exec();
}

async function handle(conn: Redis, stream: string, id: string, fields: string[] | null): Promise<void> {
  if (fields === null) {
    // The entry was deleted from the stream while pending: nothing to run.
    await conn.xack(stream, GROUP, id);
    return;
  }
  const deliveries = await deliveryCount(conn, stream, id);
  if (deliveries === null) return;
  const job = parseJob(fields);
  if (typeof job === "string") {
    await deadLetter(conn, stream, id, fields, job, deliveries);
    return;
  }
  if (deliveries > MAX_DELIVERIES) {
    await deadLetter(
      conn,
      stream,
      id,
      fields,
      `delivered ${deliveries} times without finishing: it crashed or stalled every worker that took it`,
      deliveries,
    );
    return;
  }
  let attempt: Attempt;
  try {
    attempt = await apply(conn, stream, id, job);
  } catch (err) {
    attempt = { ok: false, reason: `applying the job failed: ${(err as Error).message}` };
  }
  if (attempt.ok) return;
  if (deliveries >= MAX_DELIVERIES) {
    await deadLetter(
      conn,
      stream,
      id,
      fields,
      `failed on delivery ${deliveries}: ${attempt.reason}`,
      deliveries,
    );
  }
  // Otherwise it stays pending; XAUTOCLAIM brings it back once idle for CLAIM_IDLE_MS.
}

async function loop(w: Running, stream: string, consumer: string): Promise<void> {
  const { conn } = w;
  let cursor = "0-0";
  while (!w.stopping) {
    try {
      const claimed = (await conn.xautoclaim(
        stream,
        GROUP,
        consumer,
        CLAIM_IDLE_MS,
        cursor,
        "COUNT",
        CLAIM_COUNT,
      )) as [string, Entry[], string[]?];
      cursor = claimed[0];
      for (const [id, fields] of claimed[1]) {
        if (w.stopping) break;
        await handle(conn, stream, id, fields);
      }
      if (w.stopping) break;
      const read = (await conn.xreadgroup(
        "GROUP",
        GROUP,
        consumer,
        "COUNT",
        1,
        "BLOCK",
        BLOCK_MS,
        "STREAMS",
        stream,
        ">",
      )) as [string, Entry[]][] | null;
      if (!read) continue;
      for (const [, entries] of read) {
        for (const [id, fields] of entries) await handle(conn, stream, id, fields);
      }
    } catch (err) {
      if (w.stopping) break;
      if (isNoGroup(err)) {
        await createGroup(conn, stream).catch(() => undefined);
        cursor = "0-0";
      } else {
        await sleep(50);
      }
    }
  }
}

export async function startWorker(stream: string, consumer: string): Promise<void> {
  const conn = connect();
  try {
    await createGroup(conn, stream);
  } catch (err) {
    conn.disconnect();
    throw err;
  }
  const w: Running = { stopping: false, conn, done: Promise.resolve() };
  w.done = loop(w, stream, consumer).finally(async () => {
    await conn.quit().catch(() => conn.disconnect());
  });
  running.add(w);
}

export async function stopWorkers(): Promise<void> {
  const all = [...running];
  running.clear();
  for (const w of all) w.stopping = true;
  await Promise.all(all.map((w) => w.done));
}
