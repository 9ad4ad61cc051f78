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
function db(): pg.Pool {
  if (!pool) {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is not set");
    pool = new pg.Pool({ connectionString });
    // An idle connection that breaks is replaced on the next checkout; unhandled, it would kill the process.
    pool.on("error", (error) => console.warn(`idle Postgres connection failed: ${error.message}`));
  }
  return pool;
}

/** Runs fn on ONE client inside BEGIN ... COMMIT; any error rolls everything back. */
async function inTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db().connect();
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
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
      recorded_at     timestamptz not null default now(),
      -- What makes optimistic concurrency safe: of two appends that both read version n, only one can
      -- write version n + 1, however the two interleave.
      unique (stream_id, version)
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

const uniqueViolation = "23505";

/**
 * Appends events to a stream that must be at `expectedVersion` (0: the stream must not exist yet) and
 * returns its new version. Throws ConcurrencyError when someone else appended first.
 */
export async function appendToStream(
  streamId: string,
  expectedVersion: number,
  events: NewEvent[],
): Promise<number> {
  if (typeof streamId !== "string" || streamId === "") throw new TypeError("streamId must be a non-empty string");
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new RangeError(`expectedVersion must be an integer >= 0, got ${expectedVersion}`);
  }
  if (!Array.isArray(events) || events.length === 0) throw new TypeError("events must be a non-empty array");
  for (const event of events) {
    if (typeof event?.type !== "string" || event.type === "" || typeof event.data !== "object" || !event.data) {
      throw new TypeError("each event needs a non-empty type and an object as data");
    }
  }
  try {
    return await inTransaction(async (client) => {
      // The check gives a clear error in the common case; the unique constraint settles the race.
      const { rows } = await client.query<{ version: number }>(
        "select coalesce(max(version), 0)::int as version from events where stream_id = $1",
        [streamId],
      );
      const actual = rows[0]?.version ?? 0;
      if (actual !== expectedVersion) throw new ConcurrencyError(streamId, expectedVersion, actual);
      const rowsSql = events.map((_, i) => `($1, $${3 * i + 2}, $${3 * i + 3}, $${3 * i + 4})`).join(", ");
      const params = events.flatMap((event, i) => [expectedVersion + i + 1, event.type, JSON.stringify(event.data)]);
      await client.query(`insert into events (stream_id, version, type, data) values ${rowsSql}`, [
        streamId,
        ...params,
      ]);
      return expectedVersion + events.length;
    });
  } catch (error) {
    // A concurrent append took the same version between our check and our insert.
    if ((error as { code?: string }).code === uniqueViolation) {
      throw new ConcurrencyError(streamId, expectedVersion, undefined);
    }
    throw error;
  }
}

interface StoredEvent {
  type: string;
  data: { owner?: string; amountCents?: number };
}

/** The state of an account as its events say it is: the fold of its stream. */
function fold(accountId: string, events: StoredEvent[]): Account | null {
  let state: Account | null = null;
  for (const event of events) state = evolve(accountId, state, event);
  return state;
}

function evolve(accountId: string, state: Account | null, event: StoredEvent): Account | null {
  switch (event.type) {
    case "AccountOpened":
      return { accountId, owner: String(event.data.owner), balanceCents: 0, version: 1 };
    case "MoneyDeposited":
      return state && { ...state, balanceCents: state.balanceCents + Number(event.data.amountCents), version: state.version + 1 };
    case "MoneyWithdrawn":
      return state && { ...state, balanceCents: state.balanceCents - Number(event.data.amountCents), version: state.version + 1 };
    default:
      return state && { ...state, version: state.version + 1 };
  }
}

/** Rebuilds an account from its events (never from the read model, which may lag behind). */
export async function loadAccount(accountId: string): Promise<Account | null> {
  const { rows } = await db().query<StoredEvent>(
    "select type, data from events where stream_id = $1 order by version",
    [accountId],
  );
  return fold(accountId, rows);
}

/**
 * Decides on the current state and appends at the version that state was read at: if another command
 * appended in between, the append fails instead of acting on a balance that no longer exists.
 */
export async function withdraw(accountId: string, amountCents: number): Promise<Account> {
  if (!Number.isSafeInteger(amountCents) || amountCents <= 0) {
    throw new RangeError(`amountCents must be a positive whole number of cents, got ${amountCents}`);
  }
  const account = await loadAccount(accountId);
  if (!account) throw new Error(`account ${accountId} does not exist`);
  if (account.balanceCents < amountCents) {
    throw new Error(`insufficient funds in ${accountId}: balance ${account.balanceCents}, withdrawal ${amountCents}`);
  }
  const version = await appendToStream(accountId, account.version, [
    { type: "MoneyWithdrawn", data: { amountCents } },
  ]);
  return { ...account, balanceCents: account.balanceCents - amountCents, version };
}

interface PositionedEvent {
  /** global_position as text (pg returns bigint as a string). */
  position: string;
  stream_id: string;
  type: string;
  data: { owner?: string; amountCents?: number };
}

/** Applies the events to account_balances and saves the checkpoint, in one transaction. */
export async function runProjection(): Promise<number> {
  return inTransaction(async (client) => {
    // MUTANT: reads from the start of the table every time; the checkpoint is written but never read.
    const { rows: events } = await client.query<PositionedEvent>(
      "select global_position::text as position, stream_id, type, data from events order by global_position",
    );
    for (const event of events) await apply(client, event);
    const last = events.at(-1);
    if (last) {
      await client.query(
        `insert into projection_checkpoints (projection, position) values ($1, $2)
         on conflict (projection) do update set position = excluded.position`,
        [PROJECTION, last.position],
      );
    }
    return events.length;
  });
}

async function apply(client: pg.PoolClient, event: PositionedEvent): Promise<void> {
  switch (event.type) {
    case "AccountOpened":
      await client.query(
        `insert into account_balances (account_id, owner, balance_cents) values ($1, $2, 0)
         on conflict (account_id) do nothing`,
        [event.stream_id, String(event.data.owner)],
      );
      return;
    case "MoneyDeposited":
    case "MoneyWithdrawn": {
      const sign = event.type === "MoneyDeposited" ? 1 : -1;
      await client.query(
        "update account_balances set balance_cents = balance_cents + $2 where account_id = $1",
        [event.stream_id, sign * Number(event.data.amountCents)],
      );
      return;
    }
    default:
      // Events this read model does not care about still move the checkpoint.
      return;
  }
}

/** Throws the read model away and projects every event again, from position 0. */
export async function rebuildProjection(): Promise<void> {
  await inTransaction(async (client) => {
    await client.query("lock table projection_checkpoints in exclusive mode");
    await client.query("delete from account_balances");
    await client.query(
      `insert into projection_checkpoints (projection, position) values ($1, 0)
       on conflict (projection) do update set position = 0`,
      [PROJECTION],
    );
  });
  await runProjection();
}
