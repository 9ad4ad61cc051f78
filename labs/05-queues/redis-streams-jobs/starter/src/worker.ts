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

/**
 * Joins group `workers` on `stream` as `consumer` (creating the group, and the stream, if needed) and
 * processes jobs until stopWorkers(). Resolves once the worker runs.
 */
export function startWorker(stream: string, consumer: string): Promise<void> {
  // TODO 1: create the group at id 0 with MKSTREAM (BUSYGROUP means it exists: fine), then loop in the
  //         background: XREADGROUP ... BLOCK (<= 250 ms) ">", apply each job, XACK only what succeeded.
  // TODO 2: apply a job at most once per jobId: processed:<jobId> (TTL PROCESSED_TTL_SECONDS) and the points
  //         in one atomic step; a job for an account that does not exist fails.
  // TODO 3: at least every 250 ms, XAUTOCLAIM entries idle for CLAIM_IDLE_MS or more and run them again.
  // TODO 4: dead-letter to <stream>:dlq (and XACK) what failed MAX_DELIVERIES times, was delivered more often
  //         than that, or is malformed.
  void connect;
  return Promise.reject(new Error(`startWorker(${stream}, ${consumer}) is not implemented yet`));
}

/** Stops every worker of this process after the job in hand, and closes their connections. */
export function stopWorkers(): Promise<void> {
  return Promise.resolve();
}
