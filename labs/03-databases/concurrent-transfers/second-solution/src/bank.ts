import pg from "pg";

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
  /** true when this call found the transfer already done under the same id and moved no money. */
  replayed: boolean;
}

let pool: pg.Pool | undefined;

/** One pool per process, opened on first use. Tables: see fixtures/schema.sql (described in the README). */
function db(): pg.Pool {
  if (!pool) {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is not set");
    pool = new pg.Pool({ connectionString });
    // An idle connection that breaks (server restart, network) is reported here; unhandled, it kills the process.
    pool.on("error", (error) => console.error("postgres pool error:", error.message));
  }
  return pool;
}

function isPgError(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}

function validCents(value: unknown, min: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min;
}

export async function openAccount(id: string, owner: string, initialCents: number): Promise<Account> {
  if (!validCents(initialCents, 0))
    throw new Error("invalid amount: initialCents must be a safe integer >= 0");
  try {
    const { rows } = await db().query<{ id: string; owner: string; balance_cents: string }>(
      "insert into accounts (id, owner, balance_cents) values ($1, $2, $3) returning id, owner, balance_cents",
      [id, owner, initialCents],
    );
    const row = rows[0]!;
    return { id: row.id, owner: row.owner, balanceCents: Number(row.balance_cents) };
  } catch (error) {
    if (isPgError(error, "23505")) throw new Error(`account ${id} already exists`);
    throw error;
  }
}

export async function balance(id: string): Promise<number> {
  const { rows } = await db().query<{ balance_cents: string }>(
    "select balance_cents from accounts where id = $1",
    [id],
  );
  if (rows.length === 0) throw new Error(`account not found: ${id}`);
  return Number(rows[0]!.balance_cents);
}

/**
 * Design: guarded single-statement UPDATEs in one transaction.
 * 1. INSERT the transfers row first with ON CONFLICT (id) DO NOTHING: concurrent copies of one id wait on the
 *    primary key for the first copy to commit or roll back, before they hold any other lock.
 * 2. Touch the two account rows in ascending id order (one global lock order). The debit is
 *    `balance_cents = balance_cents - $amount ... where balance_cents >= $amount`: READ COMMITTED re-checks the
 *    guard on the newest row version after waiting for a concurrent writer, so the decision can't be stale.
 */
export async function transfer(
  transferId: string,
  fromId: string,
  toId: string,
  amountCents: number,
): Promise<Transfer> {
  if (!validCents(amountCents, 1))
    throw new Error("invalid amount: amountCents must be a positive safe integer");
  if (fromId === toId) throw new Error("same account: cannot transfer to the source account");
  if (typeof transferId !== "string" || transferId.length === 0)
    throw new Error("transfer id must be a non-empty string");

  const client = await db().connect();
  let broken: Error | undefined;
  try {
    await client.query("begin");
    try {
      const inserted = await client.query(
        `insert into transfers (id, from_id, to_id, amount_cents) values ($1, $2, $3, $4)
         on conflict (id) do nothing returning id`,
        [transferId, fromId, toId, amountCents],
      );
      if (inserted.rowCount === 0) {
        const { rows } = await client.query<{ from_id: string; to_id: string; amount_cents: string }>(
          "select from_id, to_id, amount_cents from transfers where id = $1",
          [transferId],
        );
        const existing = rows[0];
        if (!existing) throw new Error(`transfer id ${transferId} could not be recorded, try again`);
        if (
          existing.from_id !== fromId ||
          existing.to_id !== toId ||
          Number(existing.amount_cents) !== amountCents
        ) {
          throw new Error(`transfer id ${transferId} already used for a different transfer`);
        }
        await client.query("commit");
        return { id: transferId, fromId, toId, amountCents, replayed: true };
      }

      for (const id of [fromId, toId].sort()) {
        if (id === fromId) {
          const debited = await client.query(
            "update accounts set balance_cents = balance_cents - $2 where id = $1 and balance_cents >= $2",
            [fromId, amountCents],
          );
          if (debited.rowCount === 0) throw new Error(`insufficient funds in account ${fromId}`);
        } else {
          const credited = await client.query(
            "update accounts set balance_cents = balance_cents + $2 where id = $1",
            [toId, amountCents],
          );
          if (credited.rowCount === 0) throw new Error(`account not found: ${toId}`);
        }
      }
      await client.query("commit");
      return { id: transferId, fromId, toId, amountCents, replayed: false };
    } catch (error) {
      try {
        await client.query("rollback");
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      // The insert checks both foreign keys: an unknown account on either side surfaces as 23503.
      if (isPgError(error, "23503")) throw new Error(`account not found: ${fromId} or ${toId}`);
      throw error;
    }
  } finally {
    client.release(broken);
  }
}
