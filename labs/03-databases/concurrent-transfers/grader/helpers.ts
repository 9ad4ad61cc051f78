// Shared by the grader files: the learner's API, and ways to arrange and inspect the lab database as the
// superuser, independently of the learner's code.
import { setTimeout as sleep } from "node:timers/promises";
import { learner, lockWaiters, postgres, uid, waitFor } from "@backend-labs/graders";

export { lockWaiters, uid, waitFor };

export interface Account {
  id: string;
  owner: string;
  balanceCents: number;
}

export interface Transfer {
  id: string;
  fromId: string;
  toId: string;
  amountCents: number;
  replayed: boolean;
}

export interface Bank {
  openAccount(id: string, owner: string, initialCents: number): Account;
  balance(id: string): number;
  transfer(transferId: string, fromId: string, toId: string, amountCents: number): Transfer;
}

export const bank = learner().module<Bank>();

/**
 * Creates accounts directly in the database (not through the learner's code); returns their ids in order.
 * `ids` fixes the ids (when a test needs to know how they sort); otherwise they are fresh.
 */
export async function createAccounts(
  balances: number[],
  owner = "grader",
  ids: string[] = balances.map(() => uid("acct")),
): Promise<string[]> {
  await postgres().query(
    "INSERT INTO accounts (id, owner, balance_cents) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])",
    [ids, ids.map(() => owner), balances],
  );
  return ids;
}

/** Balances as stored, in the order of ids; null for an account that does not exist. */
export async function storedBalances(ids: string[]): Promise<(number | null)[]> {
  const { rows } = await postgres().query<{ id: string; balance_cents: string }>(
    "SELECT id, balance_cents FROM accounts WHERE id = ANY($1::text[])",
    [ids],
  );
  const byId = new Map(rows.map((row) => [row.id, Number(row.balance_cents)]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** "[300, 0]": balances for a message, without the assertion library's "+0". */
export function showBalances(balances: (number | null)[]): string {
  return `[${balances.map((balance) => (balance === null ? "no account" : String(balance))).join(", ")}]`;
}

export interface TransferRow {
  id: string;
  from_id: string;
  to_id: string;
  amount_cents: number;
}

/** Rows of `transfers` touching any of the accounts, or with any of the ids. */
export async function transferRows(filter: { accounts?: string[]; ids?: string[] }): Promise<TransferRow[]> {
  const { rows } = await postgres().query<{
    id: string;
    from_id: string;
    to_id: string;
    amount_cents: string;
  }>(
    `SELECT id, from_id, to_id, amount_cents FROM transfers
      WHERE from_id = ANY($1::text[]) OR to_id = ANY($1::text[]) OR id = ANY($2::text[])
      ORDER BY id`,
    [filter.accounts ?? [], filter.ids ?? []],
  );
  return rows.map((row) => ({ ...row, amount_cents: Number(row.amount_cents) }));
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

/** The error's message (the RPC layer prefixes the learner's message with `fn` threw Error:), or a note that there was none. */
export function messageOf(error: Error | undefined): string {
  return error ? error.message : "(no error: the call succeeded)";
}

/**
 * Awaits a call that must succeed. When it throws, the test fails with `what` and the learner's error,
 * instead of a bare stack trace that does not say which call of the test failed.
 */
export async function succeeds<T>(call: Promise<T>, what: string): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw new Error(`${what}, but it threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

/** The outcome of a race the grader lined up. */
export interface Race<T> {
  outcomes: PromiseSettledResult<T>[];
  /** The most of the learner's sessions that were queued on the grader's row locks at one time. */
  queued: number;
  /** Each deadlock the grader found among the learner's sessions (and broke), described for a message. */
  deadlocks: string[];
}

/**
 * Makes concurrency deterministic: the grader locks the account rows FOR SHARE in an open transaction,
 * starts the learner's calls, waits until `waiters` database sessions are queued on a lock (or every call
 * has returned, or 6 s passed), then commits. A FOR SHARE lock lets plain SELECTs through but holds up every
 * write and every FOR UPDATE, so each call has by then read whatever it reads without a lock, and they all
 * race for the rows at the same instant.
 *
 * Until every call has returned, the grader then watches for sessions of the learner that wait for each
 * other (a deadlock). Postgres would abort one of them with "deadlock detected" after deadlock_timeout
 * (`slowDeadlockDetection` makes that 5 s); the grader finds the cycle first, records it, and cancels one
 * statement of it, so a deadlock is reported every time it happens, whether or not the code retries.
 */
export async function raceOnLockedAccounts<T>(
  accountIds: string[],
  waiters: number,
  start: () => Promise<T>[],
): Promise<Race<T>> {
  const client = await postgres().connect();
  let open = false;
  try {
    await client.query("BEGIN");
    open = true;
    await client.query("SELECT id FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE", [
      accountIds,
    ]);
    let settled = 0;
    const calls = start().map((call) => call.finally(() => settled++));
    const outcomes = Promise.allSettled(calls);
    let queued = 0;
    await waitFor(
      async () => {
        queued = Math.max(queued, await lockWaiters());
        return settled === calls.length || queued >= waiters;
      },
      6_000,
      20,
    );
    await client.query("COMMIT");
    open = false;
    const deadlocks: string[] = [];
    while (settled < calls.length) {
      const deadlock = await confirmedDeadlock();
      if (deadlock) {
        deadlocks.push(deadlock.description);
        await postgres().query("SELECT pg_cancel_backend($1)", [deadlock.victim]);
      }
      await sleep(20);
    }
    return { outcomes: await outcomes, queued, deadlocks };
  } finally {
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}

interface Waiter {
  pid: number;
  blockers: number[];
  query: string;
  since: string;
}

/** The learner's sessions that wait for a lock right now, with the sessions they wait for. */
async function waiting(): Promise<Map<number, Waiter>> {
  const { rows } = await postgres().query<Waiter>(
    `SELECT pid, pg_blocking_pids(pid) AS blockers, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query,
            query_start::text AS since
       FROM pg_stat_activity
      WHERE datname = current_database() AND usename <> current_user AND wait_event_type = 'Lock'`,
  );
  return new Map(rows.map((row) => [row.pid, row]));
}

/** A cycle of sessions each waiting for the next one, as pids, or undefined. */
function cycleIn(waiters: Map<number, Waiter>): number[] | undefined {
  const done = new Set<number>();
  for (const start of waiters.keys()) {
    const path: number[] = [];
    const onPath = new Set<number>();
    const visit = (pid: number): number[] | undefined => {
      if (onPath.has(pid)) return path.slice(path.indexOf(pid));
      if (done.has(pid) || !waiters.has(pid)) return undefined;
      path.push(pid);
      onPath.add(pid);
      for (const blocker of waiters.get(pid)!.blockers) {
        const cycle = visit(blocker);
        if (cycle) return cycle;
      }
      path.pop();
      onPath.delete(pid);
      done.add(pid);
      return undefined;
    };
    const cycle = visit(start);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * A deadlock among the learner's sessions: a wait cycle seen twice, 100 ms apart, with every session of it
 * still in the same statement. (pg_blocking_pids is exact for each session, but sessions are read one after
 * the other, so one look could join two moments; a real deadlock stays until it is broken.)
 */
async function confirmedDeadlock(): Promise<{ victim: number; description: string } | undefined> {
  const first = await waiting();
  const cycle = cycleIn(first);
  if (!cycle) return undefined;
  await sleep(100);
  const second = await waiting();
  const again = cycleIn(second);
  const stillThere = new Set(again);
  if (
    again?.length !== cycle.length ||
    !cycle.every((pid) => stillThere.has(pid) && second.get(pid)?.since === first.get(pid)!.since)
  )
    return undefined;
  const description = cycle
    .map((pid, index) => {
      const next = cycle[(index + 1) % cycle.length]!;
      return `session ${pid}, running "${first.get(pid)!.query}", waited for a lock held by session ${next}`;
    })
    .join("; ");
  return { victim: cycle[0]!, description };
}

/**
 * Postgres aborts a deadlocked transaction after it has waited deadlock_timeout (1 s by default). The
 * races above find deadlocks themselves, so this gives them time: 5 s, far more than correct code ever
 * waits, while a deadlock the grader somehow missed still ends before the call times out.
 */
export async function slowDeadlockDetection(): Promise<void> {
  await postgres().query("ALTER SYSTEM SET deadlock_timeout = '5s'");
  await postgres().query("SELECT pg_reload_conf()");
}

export async function defaultDeadlockDetection(): Promise<void> {
  await postgres().query("ALTER SYSTEM RESET deadlock_timeout");
  await postgres().query("SELECT pg_reload_conf()");
}

/** The reasons of the rejected outcomes, as text. */
export function failures(outcomes: PromiseSettledResult<unknown>[]): string[] {
  return outcomes.flatMap((outcome) =>
    outcome.status === "rejected" ? [String((outcome.reason as Error)?.message ?? outcome.reason)] : [],
  );
}

/** The distinct reasons of the rejected outcomes, each with how many calls failed that way: ["14 of 20 calls: ..."]. */
export function distinctFailures(outcomes: PromiseSettledResult<unknown>[]): string[] {
  const counts = new Map<string, number>();
  for (const reason of failures(outcomes)) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => `${count} of ${outcomes.length} calls: ${reason}`);
}

export function fulfilled<T>(outcomes: PromiseSettledResult<T>[]): T[] {
  return outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
}

/** "the transfers deadlocked: ...": the message when a race found a deadlock, naming the statements. */
export function deadlockMessage(deadlocks: string[]): string {
  return (
    `your transfers deadlocked ${deadlocks.length} time(s): ${deadlocks[0] ?? ""}. ` +
    "Postgres would abort one of them with 'deadlock detected' (the grader found the cycle first and cancelled one statement). " +
    "Two transfers each locked one account and then waited for the account the other had locked. Lock both accounts in " +
    "one global order (e.g. sorted by id), whatever the direction of the transfer; retrying after a deadlock does not " +
    "make it right. Inserting the transfers row locks both accounts too (FOR KEY SHARE, for its foreign keys), and that " +
    "lock conflicts with a later FOR UPDATE"
  );
}
