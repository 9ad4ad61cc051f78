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
    );
    -- A separate index (rather than a table constraint) also protects an events table made earlier.
    create unique index if not exists events_stream_version_unique on events (stream_id, version);
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

async function currentVersion(q: pg.Pool | pg.PoolClient, streamId: string): Promise<number> {
  const { rows } = await q.query<{ v: number }>(
    "select coalesce(max(version), 0)::int as v from events where stream_id = $1",
    [streamId],
  );
  return rows[0]!.v;
}

/**
 * Appends events to a stream that must be at `expectedVersion`; returns the stream's new version.
 *
 * Design: one INSERT ... SELECT statement (a statement is its own transaction) that only produces rows
 * when the stream's current version equals the expected one; the unique (stream_id, version) index
 * refuses the loser of a race between two such statements.
 */
export async function appendToStream(
  streamId: string,
  expectedVersion: number,
  events: NewEvent[],
): Promise<number> {
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new Error(`expectedVersion must be a non-negative integer, got ${expectedVersion}`);
  }
  if (events.length === 0) {
    const actual = await currentVersion(db(), streamId);
    if (actual !== expectedVersion) throw new ConcurrencyError(streamId, expectedVersion, actual);
    return expectedVersion;
  }
  let inserted: number;
  try {
    const result = await db().query(
      `with current_version as (
         select coalesce(max(version), 0) as v from events where stream_id = $1
       )
       insert into events (stream_id, version, type, data)
       select $1, $2::int + e.ord::int, e.type, e.data
         from unnest($3::text[], $4::jsonb[]) with ordinality as e(type, data, ord), current_version
        where current_version.v = $2::int
        order by e.ord`,
      [streamId, expectedVersion, events.map((e) => e.type), events.map((e) => JSON.stringify(e.data))],
    );
    inserted = result.rowCount ?? 0;
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      throw new ConcurrencyError(streamId, expectedVersion, undefined);
    }
    throw error;
  }
  if (inserted !== events.length) {
    // The stream is at another version: nothing was written.
    throw new ConcurrencyError(streamId, expectedVersion, await currentVersion(db(), streamId));
  }
  return expectedVersion + events.length;
}

interface StoredEvent {
  type: string;
  data: Record<string, unknown>;
}

function evolve(state: Account | null, streamId: string, event: StoredEvent): Account | null {
  const version = (state?.version ?? 0) + 1;
  switch (event.type) {
    case "AccountOpened":
      return { accountId: streamId, owner: String(event.data.owner), balanceCents: 0, version };
    case "MoneyDeposited":
      return {
        accountId: streamId,
        owner: state?.owner ?? "",
        balanceCents: (state?.balanceCents ?? 0) + Number(event.data.amountCents),
        version,
      };
    case "MoneyWithdrawn":
      return {
        accountId: streamId,
        owner: state?.owner ?? "",
        balanceCents: (state?.balanceCents ?? 0) - Number(event.data.amountCents),
        version,
      };
    default:
      return {
        accountId: streamId,
        owner: state?.owner ?? "",
        balanceCents: state?.balanceCents ?? 0,
        version,
      };
  }
}

/** The account as its events say it is, or null when it has none. */
export async function loadAccount(accountId: string): Promise<Account | null> {
  const { rows } = await db().query<StoredEvent>(
    "select type, data from events where stream_id = $1 order by version",
    [accountId],
  );
  return rows.reduce<Account | null>((state, event) => evolve(state, accountId, event), null);
}

/** Withdraws if the balance allows it, appending MoneyWithdrawn at the version it loaded. */
export async function withdraw(accountId: string, amountCents: number): Promise<Account> {
  if (typeof amountCents !== "number" || !Number.isSafeInteger(amountCents) || amountCents <= 0) {
    throw new Error(`the amount must be a positive whole number of cents, got ${amountCents}`);
  }
  const account = await loadAccount(accountId);
  if (!account) throw new Error(`account ${accountId} does not exist`);
  if (account.balanceCents < amountCents) {
    throw new Error(
      `insufficient funds in ${accountId}: balance ${account.balanceCents}, asked ${amountCents}`,
    );
  }
  const version = await appendToStream(accountId, account.version, [
    { type: "MoneyWithdrawn", data: { amountCents } },
  ]);
  return { ...account, balanceCents: account.balanceCents - amountCents, version };
}

/**
 * Applies every event after the checkpoint inside the caller's transaction. The checkpoint row is locked
 * first, so two runs (or a run and a rebuild) take turns, and the read model and the checkpoint commit
 * together: a run killed at any moment leaves both where the last committed run put them.
 */
async function projectPending(client: pg.PoolClient): Promise<number> {
  await client.query(
    "insert into projection_checkpoints (projection, position) values ($1, 0) on conflict (projection) do nothing",
    [PROJECTION],
  );
  const { rows: checkpoint } = await client.query<{ position: string }>(
    "select position::text as position from projection_checkpoints where projection = $1 for update",
    [PROJECTION],
  );
  const from = checkpoint[0]!.position;
  const { rows: events } = await client.query<{
    global_position: string;
    stream_id: string;
    type: string;
    data: Record<string, unknown>;
  }>(
    "select global_position::text as global_position, stream_id, type, data from events where global_position > $1::bigint order by events.global_position",
    [from],
  );
  for (const event of events) {
    switch (event.type) {
      case "AccountOpened":
        await client.query(
          "insert into account_balances (account_id, owner, balance_cents) values ($1, $2, 0)",
          [event.stream_id, String(event.data.owner)],
        );
        break;
      case "MoneyDeposited":
      case "MoneyWithdrawn": {
        const sign = event.type === "MoneyDeposited" ? 1 : -1;
        await client.query(
          "update account_balances set balance_cents = balance_cents + $2::bigint * $3::bigint where account_id = $1",
          [event.stream_id, sign, String(event.data.amountCents)],
        );
        break;
      }
      default:
        break;
    }
  }
  if (events.length > 0) {
    await client.query("update projection_checkpoints set position = $2::bigint where projection = $1", [
      PROJECTION,
      events[events.length - 1]!.global_position,
    ]);
  }
  return events.length;
}

async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db().connect();
  try {
    await client.query("begin");
    const result = await work(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Applies the events after the checkpoint to account_balances; returns how many it applied. */
export function runProjection(): Promise<number> {
  return inTransaction(projectPending);
}

/** Throws the read model away and projects every event again. */
export async function rebuildProjection(): Promise<void> {
  await inTransaction(async (client) => {
    // Lock the checkpoint before touching the read model, in the same order runProjection does.
    await client.query(
      "insert into projection_checkpoints (projection, position) values ($1, 0) on conflict (projection) do update set position = 0",
      [PROJECTION],
    );
    await client.query("delete from account_balances");
    await projectPending(client);
  });
}
