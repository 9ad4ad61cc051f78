// Shared by the grader files: the learner's API, and ways to arrange and inspect Postgres and Redis directly,
// independently of the learner's code.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { learner, postgres, redis } from "@backend-labs/graders";

export interface Product {
  id: string;
  name: string;
  priceCents: number;
}

export interface Catalog {
  getProduct(id: string): Product | null;
  updateProduct(id: string, changes: { name?: string; priceCents?: number }): Product;
  createProduct(product: Product): Product;
}

export const catalog = learner().module<Catalog>();

// The numbers the README fixes.
export const PRODUCT_TTL_SECONDS = 300;
export const MISSING_TTL_SECONDS = 10;

export const productKey = (id: string): string => `product:${id}`;

/** A fresh id for this grade, so tests never share rows or keys. */
export function uid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Inserts a product directly into Postgres (not through the learner's code). */
export async function insertProduct(id: string, name: string, priceCents: number): Promise<Product> {
  await postgres().query("INSERT INTO products (id, name, price_cents) VALUES ($1, $2, $3)", [
    id,
    name,
    priceCents,
  ]);
  return { id, name, priceCents };
}

export async function storedProduct(id: string): Promise<Product | null> {
  const { rows } = await postgres().query<{ id: string; name: string; price_cents: number }>(
    "SELECT id, name, price_cents FROM products WHERE id = $1",
    [id],
  );
  const row = rows[0];
  return row ? { id: row.id, name: row.name, priceCents: row.price_cents } : null;
}

/** What Redis holds for the product: its raw text (undefined when the key does not exist) and its TTL. */
export async function cacheEntry(id: string): Promise<{ raw: string | undefined; ttl: number }> {
  const [raw, ttl] = await Promise.all([redis().get(productKey(id)), redis().ttl(productKey(id))]);
  return { raw: raw ?? undefined, ttl };
}

/** The cached value parsed as JSON; a string explaining the problem when it is not JSON. */
export function parseCached(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return `(not JSON: ${raw.slice(0, 80)})`;
  }
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

/** Postgres sessions the learner's code holds open right now (busy or idle in its pool). */
export async function learnerConnections(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND usename <> current_user`,
  );
  return rows[0]?.n ?? 0;
}

/** Redis connections the learner's code holds open right now: CLIENT LIST entries of any user but the grader's. */
export async function learnerRedisConnections(): Promise<number> {
  const list = (await redis().client("LIST")) as string;
  return list.split("\n").filter((line) => / user=/.test(line) && !/ user=default( |$)/.test(line)).length;
}

/** Sessions of the learner's role waiting for a lock of the given kind (relation: a table; advisory). */
async function learnerSessionsWaiting(kind: "relation" | "advisory"): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND usename <> current_user
        AND wait_event_type = 'Lock' AND wait_event = $1`,
    [kind],
  );
  return rows[0]?.n ?? 0;
}

export interface ObservedReads<T> {
  outcomes: PromiseSettledResult<T>[];
  /** The most learner sessions seen reading the products table at once. */
  reads: number;
}

/** How long the number of readers must stay unchanged before the grader concludes no more are coming. */
const QUIET_MS = 300;

/**
 * Counts the learner's reads of `products` without relying on statistics (which Postgres flushes lazily):
 * the grader holds an ACCESS EXCLUSIVE lock on the table, so every query the learner sends to it queues,
 * visible in pg_stat_activity, while a cache hit returns without waiting. Once every call has returned, or
 * the queue has stopped growing for QUIET_MS, the lock is released and every call completes.
 */
export async function observeReads<T>(start: () => Promise<T>[]): Promise<ObservedReads<T>> {
  const client = await postgres().connect();
  let open = false;
  try {
    await client.query("BEGIN");
    open = true;
    await client.query("LOCK TABLE products IN ACCESS EXCLUSIVE MODE");
    let settled = 0;
    const calls = start().map((call) => call.finally(() => settled++));
    const outcomes = Promise.allSettled(calls);
    let reads = 0;
    let changedAt = Date.now();
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      const waiting = await learnerSessionsWaiting("relation");
      if (waiting > reads) {
        reads = waiting;
        changedAt = Date.now();
      }
      if (settled === calls.length && waiting === 0) break;
      if (reads >= calls.length) break;
      if (reads > 0 && Date.now() - changedAt >= QUIET_MS) break;
      await sleep(15);
    }
    await client.query("COMMIT");
    open = false;
    return { outcomes: await outcomes, reads };
  } finally {
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}

/**
 * Installs the grader's triggers: a transaction that inserts or updates a row whose id starts with `held-`
 * waits for the grader at COMMIT; one that updates a `failcommit-` row fails there.
 */
export async function installCommitTriggers(): Promise<void> {
  await postgres().query(`
    CREATE OR REPLACE FUNCTION grader_hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(hashtext('grader-hold:' || NEW.id));
      RETURN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION grader_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'injected failure (grader): the commit of product % failed', NEW.id;
    END $$;
    DROP TRIGGER IF EXISTS grader_hold_commit ON products;
    CREATE CONSTRAINT TRIGGER grader_hold_commit AFTER UPDATE ON products
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
      WHEN (NEW.id LIKE 'held-%') EXECUTE FUNCTION grader_hold_commit();
    DROP TRIGGER IF EXISTS grader_hold_insert ON products;
    CREATE CONSTRAINT TRIGGER grader_hold_insert AFTER INSERT ON products
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
      WHEN (NEW.id LIKE 'held-%') EXECUTE FUNCTION grader_hold_commit();
    DROP TRIGGER IF EXISTS grader_fail_commit ON products;
    CREATE CONSTRAINT TRIGGER grader_fail_commit AFTER UPDATE ON products
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
      WHEN (NEW.id LIKE 'failcommit-%') EXECUTE FUNCTION grader_fail_commit();
  `);
}

export async function dropCommitTriggers(): Promise<void> {
  await postgres().query(`
    DROP TRIGGER IF EXISTS grader_hold_commit ON products;
    DROP TRIGGER IF EXISTS grader_hold_insert ON products;
    DROP TRIGGER IF EXISTS grader_fail_commit ON products;
    DROP FUNCTION IF EXISTS grader_hold_commit();
    DROP FUNCTION IF EXISTS grader_fail_commit();
  `);
}

export interface CommitHold {
  /** Waits until a learner session is held at its COMMIT; false if none is within 3 s. */
  untilHeld(): Promise<boolean>;
  /** Lets the held COMMIT go on. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * Holds every transaction that inserts or updates product `id` (which must start with `held-`) at its COMMIT, until
 * release(): the update has run, but nobody else can see it yet.
 */
export async function holdCommits(id: string): Promise<CommitHold> {
  const client = await postgres().connect();
  const lockKey = `grader-hold:${id}`;
  await client.query("SELECT pg_advisory_lock(hashtext($1))", [lockKey]);
  let released = false;
  return {
    async untilHeld() {
      const deadline = Date.now() + 3_000;
      while (Date.now() < deadline) {
        if ((await learnerSessionsWaiting("advisory")) > 0) return true;
        await sleep(15);
      }
      return false;
    },
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query("SELECT pg_advisory_unlock(hashtext($1))", [lockKey]);
      } finally {
        client.release();
      }
    },
  };
}

export interface RedisWatch {
  /** Every command Redis executed on `key` since the watch began, as sent (name first), in order. */
  commandsOn(key: string): Promise<string[][]>;
  stop(): void;
}

/**
 * Records the commands Redis executes (MONITOR), to see how an entry was written, not just what it holds.
 * MONITOR streams commands in execution order, so once the grader's own marker shows up, every command the
 * learner's code sent before it has been seen.
 */
export async function watchRedis(): Promise<RedisWatch> {
  const monitor = await redis().monitor();
  const seen: string[][] = [];
  monitor.on("monitor", (_time: string, args: string[]) => seen.push(args));
  return {
    async commandsOn(key) {
      const marker = `grader-marker-${randomUUID()}`;
      await redis().echo(marker);
      const deadline = Date.now() + 3_000;
      while (Date.now() < deadline && !seen.some((args) => args[1] === marker)) await sleep(15);
      return seen.filter((args) => args[1] === key);
    },
    stop() {
      monitor.disconnect();
    },
  };
}

/** A SET that gives the key its expiry in the same command (EX, PX, EXAT, PXAT; SETEX and PSETEX too). */
export function setsWithExpiry(args: string[]): boolean {
  const command = args[0]?.toLowerCase();
  if (command === "setex" || command === "psetex") return true;
  return (
    command === "set" && args.slice(3).some((arg) => ["ex", "px", "exat", "pxat"].includes(arg.toLowerCase()))
  );
}

/** The commands that change a key's value or expiry (reads such as GET and TTL are left out). */
export function writesOf(commands: string[][]): string[][] {
  const writes = new Set([
    "set",
    "setex",
    "psetex",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "persist",
    "getex",
    "getset",
    "getdel",
    "del",
    "unlink",
  ]);
  return commands.filter((args) => writes.has(args[0]?.toLowerCase() ?? ""));
}
