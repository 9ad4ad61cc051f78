import pg from "pg";

/** The name of the read model's row in projection_checkpoints. */
export const PROJECTION = "account_balances";

export interface NewEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface Account {
  accountId: string;
  owner: string;
  balanceCents: number;
  /** How many events the account's stream holds: the expected version of the next append. */
  version: number;
}

/** An append whose expected version is not the stream's current version. */
export class ConcurrencyError extends Error {
  constructor(streamId: string, expectedVersion: number, actualVersion: number | undefined) {
    const actual = actualVersion === undefined ? "" : `, but it is at version ${actualVersion}`;
    super(`version conflict on stream ${streamId}: expected version ${expectedVersion}${actual}`);
    this.name = "ConcurrencyError";
  }
}

let pool: pg.Pool | undefined;

/** One pool per process, opened on first use. */
export function db(): pg.Pool {
  if (!pool) {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is not set");
    pool = new pg.Pool({ connectionString });
    // An idle connection that breaks is replaced on the next checkout; unhandled, it would kill the process.
    pool.on("error", (error) => console.warn(`idle Postgres connection failed: ${error.message}`));
  }
  return pool;
}

/** Creates the event store and the read model; safe to run again. */
export async function migrate(): Promise<void> {
  await db().query(`
    create table if not exists events (
      global_position bigint generated always as identity primary key,
      stream_id       text not null,
      version         integer not null check (version > 0),
      type            text not null,
      data            jsonb not null,
      recorded_at     timestamptz not null default now()
      -- TODO 1: two appends that both read version n must not both be able to write version n + 1.
    );
    create table if not exists account_balances (
      account_id    text primary key,
      owner         text not null,
      balance_cents bigint not null
    );
    create table if not exists projection_checkpoints (
      projection text primary key,
      position   bigint not null
    );
  `);
}

/** Appends events to a stream that must be at `expectedVersion`; returns the stream's new version. */
export function appendToStream(
  streamId: string,
  expectedVersion: number,
  events: NewEvent[],
): Promise<number> {
  // TODO 1: one transaction; versions expectedVersion + 1, ...; ConcurrencyError when the stream is at
  //         another version, including when a concurrent append wins the race.
  return Promise.reject(
    new Error(
      `appendToStream(${streamId}, ${expectedVersion}, ${events.length} events) is not implemented yet`,
    ),
  );
}

/** The account as its events say it is, or null when it has none. */
export function loadAccount(accountId: string): Promise<Account | null> {
  // TODO 2: fold the stream's events, in version order.
  return Promise.reject(new Error(`loadAccount(${accountId}) is not implemented yet`));
}

/** Withdraws if the balance allows it, appending MoneyWithdrawn at the version it loaded. */
export function withdraw(accountId: string, amountCents: number): Promise<Account> {
  // TODO 2: load, decide, append at the loaded version.
  return Promise.reject(new Error(`withdraw(${accountId}, ${amountCents}) is not implemented yet`));
}

/** Applies the events after the checkpoint to account_balances; returns how many it applied. */
export function runProjection(): Promise<number> {
  // TODO 3: in global_position order; what happens to the read model and the checkpoint if the process
  //         dies between two statements?
  return Promise.reject(new Error("runProjection() is not implemented yet"));
}

/** Throws the read model away and projects every event again. */
export function rebuildProjection(): Promise<void> {
  // TODO 4
  return Promise.reject(new Error("rebuildProjection() is not implemented yet"));
}
