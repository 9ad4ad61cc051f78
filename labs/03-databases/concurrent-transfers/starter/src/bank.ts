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

export async function openAccount(id: string, owner: string, initialCents: number): Promise<Account> {
  // TODO 1: validate the arguments, insert the row into `accounts`, report a duplicate id clearly.
  void db;
  throw new Error(`openAccount(${id}, ${owner}, ${initialCents}) is not implemented yet`);
}

export async function balance(id: string): Promise<number> {
  // TODO 1: read balance_cents (pg returns bigint columns as strings) or throw "account not found".
  throw new Error(`balance(${id}) is not implemented yet`);
}

export async function transfer(
  transferId: string,
  fromId: string,
  toId: string,
  amountCents: number,
): Promise<Transfer> {
  // TODO 3: reject bad input before touching the database.
  // TODO 2: in ONE transaction on ONE client: check the accounts and the balance, debit, credit, record the transfer.
  // TODO 4-5: lock the two account rows before reading the balance, always in the same order.
  // TODO 6: the same transferId twice moves money once; the second call reports the first transfer.
  throw new Error(`transfer(${transferId}, ${fromId}, ${toId}, ${amountCents}) is not implemented yet`);
}
