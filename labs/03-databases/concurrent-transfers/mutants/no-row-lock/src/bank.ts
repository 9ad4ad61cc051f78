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

  return inTransaction(async (client) => {
    // MUTANT: a plain SELECT (no FOR UPDATE), so nothing stops another transfer reading the same balance.
    const { rows: found } = await client.query<{ id: string; balance_cents: string }>(
      "SELECT id, balance_cents FROM accounts WHERE id = ANY($1::text[])",
      [[fromId, toId]],
    );
    const source = found.find((row) => row.id === fromId);
    if (!source) throw new Error(`account not found: ${fromId}`);
    const destination = found.find((row) => row.id === toId);
    if (!destination) throw new Error(`account not found: ${toId}`);

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
    // MUTANT: new balances computed from the values read above and written back.
    const newSource = BigInt(source.balance_cents) - BigInt(amountCents);
    const newDestination = BigInt(destination.balance_cents) + BigInt(amountCents);
    await client.query("UPDATE accounts SET balance_cents = $2 WHERE id = $1", [
      fromId,
      newSource.toString(),
    ]);
    await client.query("UPDATE accounts SET balance_cents = $2 WHERE id = $1", [
      toId,
      newDestination.toString(),
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
