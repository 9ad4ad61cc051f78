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

/** One pool per process, opened on first use. */
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

function requireId(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new TypeError(`${what} must be a non-empty string`);
  }
}

const uniqueViolation = "23505";

export async function openAccount(id: string, owner: string, initialCents: number): Promise<Account> {
  requireId(id, "account id");
  requireId(owner, "owner");
  if (!Number.isSafeInteger(initialCents) || initialCents < 0) {
    throw new RangeError(
      `invalid amount: initial balance must be a whole number of cents >= 0, got ${initialCents}`,
    );
  }
  try {
    await db().query("INSERT INTO accounts (id, owner, balance_cents) VALUES ($1, $2, $3)", [
      id,
      owner,
      initialCents,
    ]);
  } catch (error) {
    if ((error as { code?: string }).code === uniqueViolation) {
      throw new Error(`account ${id} already exists`, { cause: error });
    }
    throw error;
  }
  return { id, owner, balanceCents: initialCents };
}

export async function balance(id: string): Promise<number> {
  requireId(id, "account id");
  const { rows } = await db().query<{ balance_cents: string }>(
    "SELECT balance_cents FROM accounts WHERE id = $1",
    [id],
  );
  if (rows.length === 0) throw new Error(`account not found: ${id}`);
  // pg returns bigint as a string; balances stay within Number.MAX_SAFE_INTEGER because every amount does.
  return Number(rows[0]!.balance_cents);
}

export async function transfer(
  transferId: string,
  fromId: string,
  toId: string,
  amountCents: number,
): Promise<Transfer> {
  requireId(transferId, "transfer id");
  requireId(fromId, "source account id");
  requireId(toId, "destination account id");
  if (!Number.isSafeInteger(amountCents) || amountCents <= 0) {
    throw new RangeError(`invalid amount: must be a whole number of cents > 0, got ${amountCents}`);
  }
  if (fromId === toId) throw new Error(`cannot transfer from an account to the same account (${fromId})`);

  // MUTANT: every statement runs on its own through the pool and commits on its own; no BEGIN ... COMMIT.
  const { rows: found } = await db().query<{ id: string; balance_cents: string }>(
    "SELECT id, balance_cents FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
    [[fromId, toId]],
  );
  const source = found.find((row) => row.id === fromId);
  if (!source) throw new Error(`account not found: ${fromId}`);
  if (!found.some((row) => row.id === toId)) throw new Error(`account not found: ${toId}`);

  const previous = await db().query<{ from_id: string; to_id: string; amount_cents: string }>(
    "SELECT from_id, to_id, amount_cents FROM transfers WHERE id = $1",
    [transferId],
  );
  const done = previous.rows[0];
  if (done) {
    if (done.from_id !== fromId || done.to_id !== toId || Number(done.amount_cents) !== amountCents) {
      throw new Error(`transfer id ${transferId} already used for a different transfer`);
    }
    return { id: transferId, fromId, toId, amountCents, replayed: true };
  }
  if (BigInt(source.balance_cents) < BigInt(amountCents)) {
    throw new Error(
      `insufficient funds in ${fromId}: balance ${source.balance_cents}, transfer ${amountCents}`,
    );
  }
  await db().query("UPDATE accounts SET balance_cents = balance_cents - $2 WHERE id = $1", [
    fromId,
    amountCents,
  ]);
  await db().query("UPDATE accounts SET balance_cents = balance_cents + $2 WHERE id = $1", [
    toId,
    amountCents,
  ]);
  await db().query("INSERT INTO transfers (id, from_id, to_id, amount_cents) VALUES ($1, $2, $3, $4)", [
    transferId,
    fromId,
    toId,
    amountCents,
  ]);
  return { id: transferId, fromId, toId, amountCents, replayed: false };
}
