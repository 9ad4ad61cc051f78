// Shared by the grader files: the learner's API, and ways to arrange and inspect the lab database as the
// superuser, independently of the learner's code.
import { randomUUID } from "node:crypto";
import { learner, postgres } from "@backend-labs/graders";

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

/** A fresh id for this grade, so tests never share rows. */
export function uid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Creates accounts directly in the database (not through the learner's code); returns their ids in order. */
export async function createAccounts(balances: number[], owner = "grader"): Promise<string[]> {
  const ids = balances.map(() => uid("acct"));
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

async function lockWaiters(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND wait_event_type = 'Lock'`,
  );
  return rows[0]?.n ?? 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Makes concurrency deterministic: the grader locks the account rows (SELECT ... FOR UPDATE in an open
 * transaction), starts the learner's calls, waits until `waiters` database sessions are queued on a lock
 * (or every call has already returned, or 5 s passed), then commits. Every call has by then done whatever
 * it does before it needs those rows, and they all race for the rows at the same instant.
 */
export async function raceOnLockedAccounts<T>(
  accountIds: string[],
  waiters: number,
  start: () => Promise<T>[],
): Promise<PromiseSettledResult<T>[]> {
  const client = await postgres().connect();
  let open = false;
  try {
    await client.query("BEGIN");
    open = true;
    await client.query("SELECT id FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", [
      accountIds,
    ]);
    let settled = 0;
    const calls = start().map((call) => call.finally(() => settled++));
    const outcomes = Promise.allSettled(calls);
    const deadline = Date.now() + 5_000;
    while (settled < calls.length && Date.now() < deadline && (await lockWaiters()) < waiters)
      await sleep(20);
    await client.query("COMMIT");
    open = false;
    return await outcomes;
  } finally {
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}

/** The reasons of the rejected outcomes, as text. */
export function failures(outcomes: PromiseSettledResult<unknown>[]): string[] {
  return outcomes.flatMap((outcome) =>
    outcome.status === "rejected" ? [String((outcome.reason as Error)?.message ?? outcome.reason)] : [],
  );
}

/** The distinct reasons of the rejected outcomes, each with how many calls failed that way: ["14 x deadlock detected"]. */
export function distinctFailures(outcomes: PromiseSettledResult<unknown>[]): string[] {
  const counts = new Map<string, number>();
  for (const reason of failures(outcomes)) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => `${count} of ${outcomes.length} calls: ${reason}`);
}

export function fulfilled<T>(outcomes: PromiseSettledResult<T>[]): T[] {
  return outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
}
