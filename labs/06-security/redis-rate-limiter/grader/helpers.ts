// Shared by the grader: the numbers and Redis keys the README fixes, a model of the README's formula that
// every checked call is compared with, and the tools that make races and "did it touch Redis?" observable.
import { expect } from "vitest";
import { learner, redis, type Remote, startLearner, uid, waitFor } from "@backend-labs/graders";

export { uid };

export interface Decision {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}

export interface RateLimiter {
  allow(apiKey: unknown, cost?: unknown): Decision;
}

// The numbers the README fixes.
export const CAPACITY = 5;
export const REFILL_PER_SECOND = 2;
export const MS_PER_TOKEN = 1000 / REFILL_PER_SECOND;
export const BUCKET_TTL_MS = 2500;
/** How far ahead the clock of the skewed instance runs. */
export const CLOCK_SKEW_MS = 60_000;
/** How long the README's burst holds Redis writes (CLIENT PAUSE 300 WRITE). */
export const WRITE_PAUSE_MS = 300;

/**
 * Float noise allowed when the grader recomputes the README's formula: far below anything a real mistake
 * changes (the grader's seeded buckets keep their fractions at least 0.0001 token from a whole number).
 */
const EPSILON = 1e-6;
/** How far a stored `tokens` may be from the formula's value (room for a learner who stores fewer decimals). */
const STORED_TOKENS_SLACK = 1e-3;

export const limiter = learner().module<RateLimiter>();

/** A second copy of the learner's module, as a second instance of the API behind the load balancer. */
export async function startSecondInstance(env: Record<string, string> = {}): Promise<Remote<RateLimiter>> {
  return (await startLearner({ INSTANCE: "second", ...env })).module<RateLimiter>();
}

export const bucketKey = (apiKey: string): string => `ratelimit:${apiKey}`;

/** Redis connections the learner's copies hold open right now: CLIENT LIST entries of any user but the grader's. */
export async function learnerRedisConnections(): Promise<number> {
  const list = (await redis().client("LIST")) as string;
  return list.split("\n").filter((line) => / user=/.test(line) && !/ user=default( |$)/.test(line)).length;
}

/** Redis's clock in milliseconds: the clock the README says buckets use. */
export async function redisNowMs(): Promise<number> {
  const [seconds, micros] = await redis().time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

export interface Bucket {
  tokens: number;
  ts: number;
  /** The fields as stored, for messages. */
  raw: Record<string, string>;
}

export async function readBucket(apiKey: string): Promise<Bucket | undefined> {
  const type = await redis().type(bucketKey(apiKey));
  if (type === "none") return undefined;
  expect(type, `${bucketKey(apiKey)} must be a Redis hash with the fields \`tokens\` and \`ts\``).toBe(
    "hash",
  );
  const raw = await redis().hgetall(bucketKey(apiKey));
  if (Object.keys(raw).length === 0) return undefined;
  return { tokens: Number(raw.tokens), ts: Number(raw.ts), raw };
}

/**
 * Writes a bucket exactly as the README specifies it, as if an earlier call had left it there `ageMs` ago,
 * and returns what it wrote. The TTL is long, so a slow machine cannot lose the bucket before the call.
 */
export async function seedBucket(apiKey: string, tokens: number, ageMs: number): Promise<Bucket> {
  const ts = (await redisNowMs()) - ageMs;
  const raw = { tokens: String(tokens), ts: String(ts) };
  await redis().multi().hset(bucketKey(apiKey), raw).pexpire(bucketKey(apiKey), 60_000).exec();
  return { tokens, ts, raw };
}

const describeBucket = (bucket: Bucket | undefined): string =>
  bucket ? `{ tokens: ${bucket.raw.tokens}, ts: ${bucket.raw.ts} }` : "(no bucket: a full one)";

const oneOf = (values: number[]): string => [...new Set(values)].join(" or ");

/** A settled learner call: its value, or what it threw. */
export async function settle<T>(call: Promise<T>): Promise<{ value?: T; error?: Error }> {
  try {
    return { value: await call };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** Asserts that a call to allow() returned a decision of the README's shape, and returns it. */
export function expectDecision(outcome: { value?: Decision; error?: Error }, call: string): Decision {
  expect(outcome.error?.message, `${call} must return a decision, but it threw`).toBeUndefined();
  const decision = outcome.value;
  expect(
    decision !== null &&
      typeof decision === "object" &&
      typeof decision.allowed === "boolean" &&
      typeof decision.remaining === "number" &&
      typeof decision.retryAfterMs === "number",
    `${call} must return { allowed: boolean, remaining: number, retryAfterMs: number }, got ${JSON.stringify(decision)}`,
  ).toBe(true);
  return decision as Decision;
}

/**
 * Calls allow() once and checks everything the README fixes about that one call against the bucket Redis
 * held before it and the `ts` the call stored: the stored `ts` is Redis's time of the call in integer
 * milliseconds, the refill is `min(CAPACITY, tokens + (now - ts) * REFILL_PER_SECOND / 1000)`, the call is
 * allowed exactly when that covers `cost`, the stored tokens are what is left, `remaining` is their floor and
 * `retryAfterMs` is `ceil((cost - tokens) * 1000 / REFILL_PER_SECOND)`. The check holds however slowly the
 * machine runs, since it works from the time the call itself recorded.
 */
export async function checkedAllow(
  apiKey: string,
  cost: number,
  options: { instance?: Remote<RateLimiter>; what?: string } = {},
): Promise<{ decision: Decision; before: Bucket | undefined; after: Bucket }> {
  const instance = options.instance ?? limiter;
  const call = `allow("${apiKey}", ${cost})${options.what ? ` (${options.what})` : ""}`;
  const before = await readBucket(apiKey);
  const startedAt = await redisNowMs();
  const outcome = await settle(instance.allow(apiKey, cost));
  const endedAt = await redisNowMs();
  const decision = expectDecision(outcome, call);
  const after = await readBucket(apiKey);

  expect(
    after,
    `after ${call} the hash ${bucketKey(apiKey)} must exist with the fields \`tokens\` and \`ts\`: every call writes them back`,
  ).toBeDefined();
  const stored = after as Bucket;
  expect(
    Number.isFinite(stored.tokens) && Number.isFinite(stored.ts),
    `after ${call} ${bucketKey(apiKey)} must hold numbers in \`tokens\` and \`ts\`, got ${JSON.stringify(stored.raw)}`,
  ).toBe(true);

  // ts: this call's Redis time, in integer milliseconds.
  const verdict = decision.allowed ? "allowed" : "denied";
  expect(
    before !== undefined && stored.ts === before.ts && startedAt > before.ts,
    `${call} was ${verdict} but left \`ts\` at ${before?.raw.ts}, the time of an earlier call: every call, ` +
      "allowed or denied, writes `tokens` and `ts` back (ts = the Redis time of this call)",
  ).toBe(false);
  expect(
    Number.isInteger(stored.ts),
    `after ${call} \`ts\` is ${stored.raw.ts}: it must be integer milliseconds, ` +
      "TIME seconds * 1000 + floor(microseconds / 1000)",
  ).toBe(true);
  expect(
    stored.ts >= startedAt - 1 && stored.ts <= endedAt + 1,
    `after ${call} \`ts\` is ${stored.raw.ts}, but Redis's clock read ${startedAt} before the call and ${endedAt} ` +
      "after it: `ts` must be the Redis server time of the call in milliseconds (TIME seconds * 1000 + " +
      "floor(microseconds / 1000)), not the API server's clock, not seconds",
  ).toBe(true);

  // The README's formula, from the bucket before the call and the time the call recorded.
  const elapsed = before ? Math.max(0, stored.ts - before.ts) : 0;
  const uncapped = before ? before.tokens + (elapsed * REFILL_PER_SECOND) / 1000 : CAPACITY;
  const available = Math.min(CAPACITY, uncapped);
  const refillText = before
    ? `the bucket held ${describeBucket(before)} and ${elapsed} ms passed, so it holds ` +
      `min(${CAPACITY}, ${before.raw.tokens} + ${elapsed} * ${REFILL_PER_SECOND} / 1000) = ${round(available)} tokens`
    : `the key had no bucket, which means a full one: ${CAPACITY} tokens`;

  if (available >= cost + EPSILON)
    expect(
      decision.allowed,
      `${call} must be allowed: ${refillText}, at least the cost of ${cost}` +
        (before && before.tokens < cost
          ? ". Refill from the stored `ts` on every call: tokens + (now - ts) * 2 / 1000, with times in milliseconds"
          : ""),
    ).toBe(true);
  else if (available <= cost - EPSILON)
    expect(
      decision.allowed,
      `${call} must be denied: ${refillText}, fewer than the cost of ${cost}` +
        (uncapped > CAPACITY ? ` (the refill is capped at ${CAPACITY}: min(CAPACITY, ...))` : ""),
    ).toBe(false);

  const left = decision.allowed ? available - cost : available;
  expect(
    Math.abs(stored.tokens - left),
    `after ${call} (${verdict}) \`tokens\` must be ${round(left)}: ${refillText}` +
      (decision.allowed ? `, minus the ${cost} spent` : ", and a denied call spends nothing") +
      `. It is ${stored.raw.tokens}` +
      hint(stored.tokens, [
        [uncapped - (decision.allowed ? cost : 0), `: that is the refill without the cap at ${CAPACITY}`],
        [available - cost, ": a denied call must not subtract the cost"],
        [
          before ? before.tokens - (decision.allowed ? cost : 0) : NaN,
          ": the time since `ts` was not refilled",
        ],
      ]),
  ).toBeLessThanOrEqual(STORED_TOKENS_SLACK);

  const floors = [Math.floor(left - EPSILON), Math.floor(left + EPSILON)];
  expect(
    floors.includes(decision.remaining),
    `${call} returned remaining ${decision.remaining}, but ${round(left)} tokens are left after it: remaining is ` +
      `floor(tokens) = ${oneOf(floors)}` +
      (decision.remaining === Math.round(left) ? " (round down with Math.floor, not Math.round)" : ""),
  ).toBe(true);

  if (decision.allowed) {
    expect(decision.retryAfterMs, `${call} was allowed: retryAfterMs must be 0`).toBe(0);
  } else {
    const waits = [
      Math.ceil(((cost - available - EPSILON) * 1000) / REFILL_PER_SECOND),
      Math.ceil(((cost - available + EPSILON) * 1000) / REFILL_PER_SECOND),
    ];
    expect(
      waits.includes(decision.retryAfterMs),
      `${call} was denied with retryAfterMs ${decision.retryAfterMs}: with ${round(available)} tokens in the ` +
        `bucket, ${cost} are there after ceil((${cost} - ${round(available)}) * 1000 / ${REFILL_PER_SECOND}) = ` +
        `${oneOf(waits)} ms` +
        hint(decision.retryAfterMs, [
          [
            Math.ceil(((cost - Math.floor(available)) * 1000) / REFILL_PER_SECOND),
            ": that counts whole tokens only; use the fractional token count",
          ],
          [
            Math.floor(((cost - available) * 1000) / REFILL_PER_SECOND),
            ": that rounds down; round up (ceil), or a client retrying on time is refused again",
          ],
          [
            Math.ceil((cost * 1000) / REFILL_PER_SECOND),
            ": that ignores the tokens the bucket already holds",
          ],
        ]),
    ).toBe(true);
  }
  return { decision, before, after: stored };
}

/** The first hint whose value matches `got` (a known mistake), or "". */
function hint(got: number, candidates: [number, string][]): string {
  const match = candidates.find(
    ([value]) => Number.isFinite(value) && Math.abs(value - got) <= STORED_TOKENS_SLACK,
  );
  return match ? match[1] : "";
}

const round = (tokens: number): string => String(Math.round(tokens * 10_000) / 10_000);

export const admitted = (decisions: Decision[]): number =>
  decisions.filter((decision) => decision.allowed).length;

/**
 * NODE_OPTIONS for a copy of the learner's code whose Date.now() and new Date() run skewMs ahead, as on a
 * server whose clock drifted. Redis's clock is untouched.
 */
export function clockSkewOption(skewMs: number): string {
  const preload =
    `const skewMs = ${skewMs}; const RealDate = Date; const realNow = () => RealDate.now();` +
    "class SkewedDate extends RealDate {" +
    "  constructor(...args) { if (args.length === 0) { super(realNow() + skewMs); } else { super(...args); } }" +
    "  static now() { return realNow() + skewMs; }" +
    "}" +
    "globalThis.Date = SkewedDate;";
  return `--import=data:text/javascript,${encodeURIComponent(preload)}`;
}

/** Concurrent calls on throwaway keys: opens the HTTP sockets and Redis connections a burst will use. */
export async function warmUp(instance: Remote<RateLimiter>, calls: number): Promise<void> {
  await Promise.all(Array.from({ length: calls }, () => instance.allow(uid("warm-up"))));
}

/**
 * Holds every write (and every script) on Redis for WRITE_PAUSE_MS while reads go on, as a slow link would:
 * the README's CLIENT PAUSE 300 WRITE.
 */
export async function pauseWrites(): Promise<void> {
  await redis().call("CLIENT", "PAUSE", String(WRITE_PAUSE_MS), "WRITE");
}

/** How many clients Redis is holding a command of right now (CLIENT LIST flag b: blocked by the pause). */
async function heldClients(): Promise<number> {
  const list = String(await redis().call("CLIENT", "LIST"));
  return list.split("\n").filter((line) => / flags=\S*b/.test(line)).length;
}

/**
 * Starts the calls while Redis holds every write, waits until each call that has a connection of its own
 * has done its reads and is held at its write (or until `settleMs` passes, for code that queues its calls
 * on one connection), then lets the writes through. Every call has read the bucket before any call has
 * written it: the race a WATCH/MULTI loop must retry and a Lua script never sees.
 */
export async function whileWritesHeld<T>(calls: (() => Promise<T>)[], settleMs = 1_500): Promise<T[]> {
  await redis().call("CLIENT", "PAUSE", "8000", "WRITE");
  let pending: Promise<T>[];
  try {
    pending = calls.map((call) => call());
    await waitFor(async () => (await heldClients()) >= calls.length, settleMs, 20);
  } finally {
    await redis().call("CLIENT", "UNPAUSE");
  }
  return Promise.all(pending);
}

/** Commands that only open or describe a connection: sending them is not working on a bucket. */
const handshake = new Set([
  "info",
  "client",
  "hello",
  "auth",
  "select",
  "ping",
  "readonly",
  "command",
  "quit",
]);

/** One command as MONITOR saw it: who sent it (`ip:port`, or `lua` inside a script) and its arguments. */
export interface SentCommand {
  source: string;
  args: string[];
}

/**
 * Runs `action` while MONITOR watches Redis, and returns every command someone other than the grader sent
 * meanwhile (connection handshakes left out), in the order Redis ran them: what the learner's code did.
 */
export async function commandLogDuring(action: () => Promise<void>): Promise<SentCommand[]> {
  const own = /addr=(\S+)/.exec(String(await redis().call("CLIENT", "INFO")))?.[1];
  const monitor = await redis().monitor();
  const sentinel = uid("sentinel");
  const seen: SentCommand[] = [];
  let sentinelSeen = false;
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (args[0]?.toLowerCase() === "echo" && args[1] === sentinel) sentinelSeen = true;
    else if (!sentinelSeen && source !== own && !handshake.has(String(args[0]).toLowerCase()))
      seen.push({ source, args: args.map(String) });
  });
  try {
    await action();
    await redis().echo(sentinel);
    await waitFor(() => sentinelSeen, 5_000, 10);
  } finally {
    monitor.disconnect();
  }
  return seen;
}

/** commandLogDuring, each command as one line of text. */
export async function commandsSentDuring(action: () => Promise<void>): Promise<string[]> {
  return (await commandLogDuring(action)).map((command) => command.args.join(" "));
}

const bucketReads = new Set(["hget", "hmget", "hgetall", "hvals"]);

/**
 * The WATCH/MULTI transactions on `key` whose connection did not read the bucket between its WATCH of the
 * key and its EXEC: they decided on a value read before the WATCH (or on none), which another call can
 * change unseen while EXEC still succeeds. Each is described by the commands its connection sent for that
 * attempt. Lua scripts send no EXEC and are never listed.
 */
export function transactionsNotReadAfterWatch(log: SentCommand[], key: string): string[] {
  const attempts = new Map<string, { commands: string[]; watched: boolean; readAfterWatch: boolean }>();
  const problems: string[] = [];
  for (const { source, args } of log) {
    if (source === "lua") continue;
    const name = args[0]!.toLowerCase();
    const attempt = attempts.get(source) ?? { commands: [], watched: false, readAfterWatch: false };
    attempts.set(source, attempt);
    attempt.commands.push(args.join(" "));
    if (name === "watch" && args.slice(1).includes(key)) attempt.watched = true;
    else if (bucketReads.has(name) && args[1] === key && attempt.watched) attempt.readAfterWatch = true;
    else if (name === "exec" || name === "discard" || name === "unwatch") {
      const touchedKey = attempt.commands.some((command) => command.split(" ").includes(key));
      if (name === "exec" && touchedKey && !attempt.readAfterWatch)
        problems.push(`${source}: ${attempt.commands.join(" | ")}`);
      attempts.delete(source);
    }
  }
  return problems;
}
