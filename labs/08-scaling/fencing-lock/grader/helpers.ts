// Shared by the grader: the two instances of the learner's lock service, the Redis keys the README fixes,
// and a "write gate" that holds the learner's writes on Redis so races happen in an order the grader picks.
import { type Redis } from "ioredis";
import { expect } from "vitest";
import { learner, redis, type Remote, startLearner, uid, waitFor } from "@backend-labs/graders";

export { uid };

export interface Lease {
  resource: string;
  owner: string;
  token: number;
}

export interface LockService {
  acquire(resource: string, ttlMs: number): Lease | null;
  release(lease: Lease): boolean;
  extend(lease: Lease, ttlMs: number): boolean;
  writeDocument(name: string, token: number, content: string): void;
}

/** How far behind the second instance's clock runs, as on a server whose clock drifted. */
export const CLOCK_SKEW_MS = 60_000;
/** A lease short enough to let expire inside a test. */
export const SHORT_TTL_MS = 200;
/** How long past its TTL a lock key may take to disappear before the grader calls it immortal. */
const EXPIRY_SLACK_MS = 1_000;
/** How long the burst tests hold every Redis write while the burst arrives. */
export const BURST_PAUSE_MS = 300;
/** Redis lifts a pause by itself after this long, should a test die while holding writes. */
const GATE_SAFETY_MS = 8_000;
/** How long the grader waits for a call to reach Redis and be held there. */
const QUEUE_TIMEOUT_MS = 5_000;

let side: Redis | undefined;

/** A grader connection of its own, whose writes queue at the write gate like the learner's. */
export function sideRedis(): Redis {
  side ??= redis().duplicate();
  return side;
}

export function closeSideRedis(): void {
  side?.disconnect();
  side = undefined;
}

/** The copy the runner started, with an honest clock. */
export const first = learner().module<LockService>();

/** A second copy of the same code whose clock runs a minute behind (Redis's clock is untouched). */
export async function startSecondInstance(): Promise<Remote<LockService>> {
  const instance = await startLearner({ INSTANCE: "second", NODE_OPTIONS: clockSkewOption(-CLOCK_SKEW_MS) });
  return instance.module<LockService>();
}

export const lockKey = (resource: string): string => `lock:${resource}`;
export const fenceKey = (resource: string): string => `fence:${resource}`;
export const documentKey = (name: string): string => `doc:${name}`;

/** NODE_OPTIONS for a copy of the learner's code whose Date.now() and new Date() run skewMs off. */
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
 * Waits for a lease to run out, as a holder stuck in a GC pause would, and fails the test when the lock key
 * has no TTL or outlives its TTL by more than some slack.
 */
export async function expectExpired(resource: string, ttlMs: number): Promise<void> {
  let pttl = -2;
  await waitFor(
    async () => {
      pttl = await redis().pttl(lockKey(resource));
      return pttl < 0;
    },
    ttlMs + EXPIRY_SLACK_MS,
    20,
  );
  expect(
    pttl,
    pttl === -1
      ? `${lockKey(resource)} was taken with ttlMs ${ttlMs} but has no expiry (PTTL -1): a holder that crashes keeps ` +
          "the lock forever. Set the TTL in the same command that takes the lock: SET key owner NX PX ttlMs"
      : `${lockKey(resource)} was taken with ttlMs ${ttlMs} but was still there ${ttlMs + EXPIRY_SLACK_MS} ms later ` +
          `(PTTL ${pttl}): the TTL must be ttlMs milliseconds (PX), not seconds (EX)`,
  ).toBe(-2);
}

/** The lock key's TTL right after a call that set it, with a message for every way it can be wrong. */
export async function expectFreshTtl(resource: string, ttlMs: number, after: string): Promise<void> {
  const pttl = await redis().pttl(lockKey(resource));
  expect(
    pttl,
    pttl === -2
      ? `right after ${after}, ${lockKey(resource)} is already gone. The instance that made the call runs its ` +
          `clock ${CLOCK_SKEW_MS / 1000} s behind: an expiry computed from Date.now() (PXAT, PEXPIREAT) lies in ` +
          "Redis's past there. Give Redis a duration (PX ttlMs, PEXPIRE ttlMs), which it counts on its own clock"
      : pttl === -1
        ? `right after ${after}, ${lockKey(resource)} has no expiry (PTTL -1), so a holder that crashes keeps the ` +
          "lock forever: give it a TTL of ttlMs milliseconds"
        : `right after ${after}, ${lockKey(resource)} has only ${pttl} ms left: the TTL must be ttlMs milliseconds from now`,
  ).toBeGreaterThan(ttlMs - 1_500);
  expect(
    pttl,
    `right after ${after}, ${lockKey(resource)} has ${pttl} ms left, more than the ${ttlMs} ms asked for: the TTL ` +
      "must be exactly ttlMs milliseconds from now (PX / PEXPIRE ttlMs): not rounded up to whole seconds " +
      "(EX / EXPIRE), not added to what was left",
  ).toBeLessThanOrEqual(ttlMs);
}

/** A settled call: its value, or the error it rejected with. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** A call in flight whose outcome can be looked at without awaiting it. */
interface Tracked<T> {
  done: () => boolean;
  outcome: Promise<Outcome<T>>;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  let settled = false;
  const outcome = promise.then(
    (value): Outcome<T> => ((settled = true), { ok: true, value }),
    (error: unknown): Outcome<T> => (
      (settled = true),
      { ok: false, error: error instanceof Error ? error : new Error(String(error)) }
    ),
  );
  return { done: () => settled, outcome };
}

/** Asserts that a call succeeded and returns its value, so a later assertion never blames the wrong thing. */
export function resolved<T>(outcome: Outcome<T>, call: string): T {
  expect(outcome.ok ? undefined : outcome.error.message, `${call} must not throw`).toBe(undefined);
  return (outcome as { value: T }).value;
}

/** How many clients Redis is holding a command of right now (CLIENT LIST flag b: paused). */
async function heldClients(): Promise<number> {
  const list = String(await redis().call("CLIENT", "LIST"));
  return list.split("\n").filter((line) => / flags=\S*b/.test(line)).length;
}

/**
 * Closes the write gate: Redis holds every write from now on (every script and every EXEC with a write
 * included, in the order they arrive) while reads go on.
 */
async function closeGate(): Promise<void> {
  await redis().call("CLIENT", "PAUSE", String(GATE_SAFETY_MS), "WRITE");
}

async function openGate(): Promise<void> {
  await redis().call("CLIENT", "UNPAUSE");
}

/**
 * Starts the calls one after the other while Redis holds writes: each next call starts only once the one
 * before has a write held at the gate (or has finished without writing). Then the gate opens and the held
 * writes run in the order the calls were started. Code that compares in one round trip and acts in
 * another has done its comparison before the gate opens, against the old value.
 */
export async function inOrderWhileWritesHeld<T extends unknown[]>(calls: {
  [K in keyof T]: () => Promise<T[K]>;
}): Promise<{ [K in keyof T]: Outcome<T[K]> }> {
  const started: Tracked<unknown>[] = [];
  await closeGate();
  try {
    for (const call of calls) {
      const tracked = track(call());
      started.push(tracked);
      const held = started.filter((earlier) => !earlier.done()).length;
      await waitFor(async () => tracked.done() || (await heldClients()) >= held, QUEUE_TIMEOUT_MS, 10);
    }
  } finally {
    await openGate();
  }
  return (await Promise.all(started.map((tracked) => tracked.outcome))) as { [K in keyof T]: Outcome<T[K]> };
}

/**
 * Runs one call while Redis holds writes, and lets its writes through one at a time: right after each one
 * runs, before the call can send anything else, a read-only Lua script queued behind it reads `keys`.
 * Returns the call's outcome and what the script saw after each write.
 */
export async function observeEachWrite<T>(
  call: () => Promise<T>,
  keys: string[],
): Promise<{ outcome: Outcome<T>; seen: (string | null)[][] }> {
  const observer: Redis = redis().duplicate();
  const read = `local seen = {} for i, key in ipairs(KEYS) do seen[i] = redis.call('GET', key) or '' end return seen`;
  const seen: (string | null)[][] = [];
  await closeGate();
  try {
    const tracked = track(call());
    for (let write = 0; write < 20; write++) {
      await waitFor(async () => tracked.done() || (await heldClients()) >= 1, QUEUE_TIMEOUT_MS, 10);
      if (tracked.done() || (await heldClients()) === 0) break;
      // MULTI/EXEC: the script and a new pause run together, so the call's next write is held again.
      const observation = observer
        .multi()
        .eval(read, keys.length, ...keys)
        .call("CLIENT", "PAUSE", String(GATE_SAFETY_MS), "WRITE")
        .exec();
      await waitFor(async () => (await heldClients()) >= 2, QUEUE_TIMEOUT_MS, 10);
      await openGate();
      const replies = await observation;
      const values = (replies?.[0]?.[1] ?? []) as string[];
      seen.push(values.map((value) => (value === "" ? null : value)));
    }
    await openGate();
    return { outcome: await tracked.outcome, seen };
  } finally {
    await openGate();
    observer.disconnect();
  }
}

/** Holds every write on Redis for BURST_PAUSE_MS, so a burst of concurrent calls arrives as one. */
export async function pauseWritesForBurst(): Promise<void> {
  await redis().call("CLIENT", "PAUSE", String(BURST_PAUSE_MS), "WRITE");
}

/** Opens the connections and loads the scripts the calls of a test will use, so they reach Redis at once. */
export async function warmUp(instances: Remote<LockService>[], calls: number): Promise<void> {
  await Promise.all(
    instances.flatMap((instance) =>
      Array.from({ length: calls }, async () => {
        const resource = uid("warm-up");
        const lease = await instance.acquire(resource, 1_000);
        if (lease) await instance.release(lease);
        await instance.writeDocument(resource, 1, "warm-up");
      }),
    ),
  );
}

export async function storedDocument(name: string): Promise<Record<string, string>> {
  return redis().hgetall(documentKey(name));
}

/** Settles a promise into the error it rejected with, or undefined if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<Error | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Asserts that a write was refused with a "stale token" error, naming what happened instead. */
export function expectStaleTokenError(refused: Error | undefined, what: string): void {
  expect(
    refused?.message ?? "(it resolved)",
    `${what}: writeDocument() must throw an Error whose message contains "stale token"` +
      (refused ? "" : ", but it resolved as if the write had been accepted"),
  ).toMatch(/stale token/i);
}
