import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, expect, it } from "vitest";
import { LearnerThrewError, learner, postgres, startLearner, task } from "@backend-labs/graders";

interface NewEvent {
  type: string;
  data: Record<string, unknown>;
}

interface Account {
  accountId: string;
  owner: string;
  balanceCents: number;
  version: number;
}

interface Accounts {
  migrate(): Promise<void>;
  appendToStream(streamId: string, expectedVersion: number, events: NewEvent[]): Promise<number>;
  loadAccount(accountId: string): Promise<Account | null>;
  withdraw(accountId: string, amountCents: number): Promise<Account>;
  runProjection(): Promise<number>;
  rebuildProjection(): Promise<void>;
}

interface BalanceRow {
  account_id: string;
  owner: string;
  balance_cents: number;
}

const PROJECTION = "account_balances";
const run = randomUUID().slice(0, 8);
const accounts = learner().module<Accounts>();

beforeAll(async () => {
  await accounts.migrate();
});

// ---------------------------------------------------------------------------------------------------
// Arranging streams: every test has accounts of its own

const accountIdFor = (label: string, n = 1): string => `acct-${label}-${run}-${n}`;
const opened = (owner: string): NewEvent => ({ type: "AccountOpened", data: { owner } });
const deposited = (amountCents: number): NewEvent => ({ type: "MoneyDeposited", data: { amountCents } });
const withdrawn = (amountCents: number): NewEvent => ({ type: "MoneyWithdrawn", data: { amountCents } });

/** Writes a stream straight into the table, versions 1..n, without the learner's code. */
async function insertEvents(streamId: string, events: NewEvent[]): Promise<void> {
  for (const [index, event] of events.entries()) {
    await postgres().query("insert into events (stream_id, version, type, data) values ($1, $2, $3, $4)", [
      streamId,
      index + 1,
      event.type,
      JSON.stringify(event.data),
    ]);
  }
}

// ---------------------------------------------------------------------------------------------------
// Reading the event store, the read model and the checkpoint

async function streamEvents(streamId: string): Promise<{ version: number; type: string; data: unknown }[]> {
  const { rows } = await postgres().query<{ version: number; type: string; data: unknown }>(
    "select version, type, data from events where stream_id = $1 order by global_position",
    [streamId],
  );
  return rows;
}

/** The read model as the events say it must be: the grader's own fold of every account stream. */
async function expectedBalances(accountIds?: string[]): Promise<BalanceRow[]> {
  const { rows } = await postgres().query<BalanceRow>(
    `select stream_id as account_id,
            max(data ->> 'owner') filter (where type = 'AccountOpened') as owner,
            coalesce(sum(case type when 'MoneyDeposited' then (data ->> 'amountCents')::bigint
                                   when 'MoneyWithdrawn' then -(data ->> 'amountCents')::bigint
                                   else 0 end), 0)::int as balance_cents
       from events
      where ($1::text[] is null or stream_id = any($1))
      group by stream_id
     having bool_or(type = 'AccountOpened')
      order by stream_id`,
    [accountIds ?? null],
  );
  return rows;
}

async function readModel(accountIds?: string[]): Promise<BalanceRow[]> {
  const { rows } = await postgres().query<BalanceRow>(
    `select account_id, owner, balance_cents::int as balance_cents from account_balances
      where ($1::text[] is null or account_id = any($1)) order by account_id`,
    [accountIds ?? null],
  );
  return rows;
}

async function checkpoint(): Promise<string | undefined> {
  const { rows } = await postgres().query<{ position: string }>(
    "select position::text from projection_checkpoints where projection = $1",
    [PROJECTION],
  );
  return rows[0]?.position;
}

async function lastPosition(): Promise<string> {
  const { rows } = await postgres().query<{ position: string }>(
    "select coalesce(max(global_position), 0)::text as position from events",
  );
  return rows[0]!.position;
}

/** How many other sessions are waiting on a lock (held by the grader). */
async function blockedSessions(): Promise<number> {
  const { rows } = await postgres().query<{ waiting: number }>(
    `select count(*)::int as waiting from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
  );
  return rows[0]?.waiting ?? 0;
}

/** Polls until `check` holds or the deadline passes; returns whether it held. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/**
 * Runs `calls` while the grader holds an EXCLUSIVE lock on `events` (reads go on, writes wait), and
 * lets go once they are all waiting: every call has read the stream before any of them can write, as
 * when requests race on a busy server.
 */
async function raceOnEvents<T>(count: number, call: (index: number) => Promise<T>) {
  const holder = await postgres().connect();
  try {
    await holder.query("begin");
    await holder.query("lock table events in exclusive mode");
    const outcomes = Promise.allSettled(Array.from({ length: count }, (_, index) => call(index)));
    await waitFor(async () => (await blockedSessions()) >= count, 3_000);
    await holder.query("commit");
    return await outcomes;
  } finally {
    await holder.query("rollback").catch(() => undefined);
    holder.release();
  }
}

/**
 * Starts another copy of the learner's code, runs the projection there while the grader holds `lockSql`
 * (a row lock the run gets stuck on), and crashes it: the process is killed and, as when a machine dies,
 * its database sessions never get to finish what they were waiting to do.
 */
async function crashProjectionStuckOn(lockSql: string, params: unknown[]): Promise<boolean> {
  const holder = await postgres().connect();
  try {
    await holder.query("begin");
    await holder.query(lockSql, params);
    const doomed = await startLearner();
    const stuck = doomed
      .module<Accounts>()
      .runProjection()
      .catch(() => undefined);
    const queued = await waitFor(async () => (await blockedSessions()) > 0, 3_000);
    await doomed.kill(); // the machine dies mid-run
    await stuck;
    // Its connections died with it: end the sessions still waiting on the grader's lock.
    await postgres().query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
    );
    await waitFor(async () => (await blockedSessions()) === 0, 3_000);
    await holder.query("rollback");
    return queued;
  } finally {
    await holder.query("rollback").catch(() => undefined);
    holder.release();
  }
}

async function pendingEvents(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `select count(*)::int as n from events
      where global_position > coalesce((select position from projection_checkpoints where projection = $1), 0)`,
    [PROJECTION],
  );
  return rows[0]!.n;
}

const reasons = (outcomes: PromiseSettledResult<unknown>[]): string[] =>
  outcomes.flatMap((outcome) =>
    outcome.status === "rejected" ? [String((outcome.reason as Error).message ?? outcome.reason)] : [],
  );

// ---------------------------------------------------------------------------------------------------

task(1, "Append events with optimistic concurrency", () => {
  it("appendToStream writes the events with consecutive versions and returns the new version", async () => {
    const stream = accountIdFor("append");
    const afterFirst = await accounts.appendToStream(stream, 0, [opened("Ada"), deposited(500)]);
    expect(afterFirst, "two events appended to a new stream (expected version 0) make it version 2").toBe(2);
    const afterSecond = await accounts.appendToStream(stream, 2, [withdrawn(200)]);
    expect(afterSecond, "one more event appended at expected version 2 makes it version 3").toBe(3);
    expect(
      await streamEvents(stream),
      "the events table must hold the stream's events with versions 1, 2, 3, in the order they were appended " +
        "(global_position follows the same order), with type and data as given",
    ).toEqual([
      { version: 1, type: "AccountOpened", data: { owner: "Ada" } },
      { version: 2, type: "MoneyDeposited", data: { amountCents: 500 } },
      { version: 3, type: "MoneyWithdrawn", data: { amountCents: 200 } },
    ]);
  });

  it("an append whose expected version is not the stream's version fails with ConcurrencyError and writes nothing", async () => {
    const stream = accountIdFor("stale");
    await accounts.appendToStream(stream, 0, [opened("Bob"), deposited(100), deposited(100)]);
    for (const expected of [0, 2, 5]) {
      await expect(
        accounts.appendToStream(stream, expected, [deposited(1)]),
        `appending at expected version ${expected} to a stream at version 3 must fail with an error named ` +
          "ConcurrencyError: the caller decided on a state that is not the stream's",
      ).rejects.toThrow(/ConcurrencyError/);
    }
    const missing = accountIdFor("stale", 2);
    await expect(
      accounts.appendToStream(missing, 1, [deposited(1)]),
      "appending at expected version 1 to a stream that does not exist (version 0) must fail with ConcurrencyError",
    ).rejects.toThrow(/ConcurrencyError/);
    expect(
      (await streamEvents(stream)).length + (await streamEvents(missing)).length,
      "a failed append must write nothing",
    ).toBe(3);
  });

  it("the events table itself refuses a second event with the same stream and version", async () => {
    const stream = accountIdFor("constraint");
    await accounts.appendToStream(stream, 0, [opened("Cy")]);
    const failure = await postgres()
      .query("insert into events (stream_id, version, type, data) values ($1, 1, 'MoneyDeposited', $2)", [
        stream,
        JSON.stringify({ amountCents: 1 }),
      ])
      .then(
        () => undefined,
        (error: unknown) => error as { code?: string },
      );
    expect(
      failure?.code,
      "the grader inserted a second version 1 of a stream and the table accepted it. A version check in your " +
        "code (read the version, then insert) has a gap a concurrent append slips through; only the database " +
        "can close it: add UNIQUE (stream_id, version) to the events table in migrate()",
    ).toBe("23505");
  });

  it("migrate() can run again on an existing event store and keeps its events", async () => {
    const stream = accountIdFor("migrate");
    await accounts.appendToStream(stream, 0, [opened("Eve")]);
    expect(
      await accounts.migrate().then(
        () => "ok",
        (error: unknown) => String((error as Error).message),
      ),
      "migrate() must create the tables only if they do not exist (the service runs it on every start): a " +
        "second call failed. Use IF NOT EXISTS for everything it creates, indexes and constraints included",
    ).toBe("ok");
    expect((await streamEvents(stream)).length, "running migrate() again must keep the events").toBe(1);
  });

  it("an append whose later event the database refuses writes none of the batch", async () => {
    const stream = accountIdFor("batch");
    await accounts.appendToStream(stream, 0, [opened("Fay")]);
    // The grader makes the table refuse one event type, so the failure comes after the batch's first row.
    await postgres().query(`
      create or replace function grader_refuse_event() returns trigger language plpgsql as $$
      begin
        if new.type = 'GraderRefusedEvent' then raise exception 'the grader refuses this event'; end if;
        return new;
      end $$`);
    await postgres().query("drop trigger if exists grader_refuse_event on events");
    await postgres().query(
      "create trigger grader_refuse_event before insert on events for each row execute function grader_refuse_event()",
    );
    let refused: unknown;
    try {
      refused = await accounts
        .appendToStream(stream, 1, [deposited(5), { type: "GraderRefusedEvent", data: {} }])
        .then(
          (version) => `returned ${version}`,
          (error: unknown) => error,
        );
    } finally {
      await postgres().query("drop trigger if exists grader_refuse_event on events");
      await postgres().query("drop function if exists grader_refuse_event()");
    }
    expect(
      refused,
      `the database refused the second event of the batch, so appendToStream must throw (got: ${String(refused)})`,
    ).toBeInstanceOf(LearnerThrewError);
    expect(
      (refused as LearnerThrewError).learnerError.name,
      "the database refused an event for a reason that has nothing to do with versions (the grader's trigger " +
        `raised an exception), and appendToStream reported it as a ConcurrencyError (${(refused as Error).message}). ` +
        "A ConcurrencyError tells the caller to reload and retry, and this failure would come back on every " +
        "retry: turn only the unique violation (SQLSTATE 23505) into a ConcurrencyError and let other errors out",
    ).not.toBe("ConcurrencyError");
    expect(
      (await streamEvents(stream)).map((event) => event.type),
      "the database refused the batch's second event, yet its first one (MoneyDeposited) stayed in the " +
        "stream: appendToStream must write all of a batch's events in ONE transaction (BEGIN ... COMMIT on " +
        "one client, or one INSERT statement), so a failure writes nothing",
    ).toEqual(["AccountOpened"]);
    expect(
      await accounts.appendToStream(stream, 1, [deposited(5)]),
      "after the failed batch the stream is still at version 1, so an append at expected version 1 must work",
    ).toBe(2);
  });

  it("an append that collides with a concurrent append of the same version fails with ConcurrencyError", async () => {
    const stream = accountIdFor("collide");
    await accounts.appendToStream(stream, 0, [opened("Gil")]);
    // Another writer has inserted version 2 but not committed yet: the learner's append at expected
    // version 1 still sees version 1, inserts its own version 2, and waits on the unique index.
    const other = await postgres().connect();
    let outcome: PromiseSettledResult<number>[];
    try {
      await other.query("begin");
      await other.query(
        "insert into events (stream_id, version, type, data) values ($1, 2, 'MoneyDeposited', '{\"amountCents\": 5}')",
        [stream],
      );
      const append = Promise.allSettled([accounts.appendToStream(stream, 1, [deposited(7)])]);
      await waitFor(async () => (await blockedSessions()) >= 1, 3_000);
      await other.query("commit");
      outcome = await append;
    } finally {
      await other.query("rollback").catch(() => undefined);
      other.release();
    }
    expect(
      outcome.map((result) => (result.status === "fulfilled" ? `returned ${result.value}` : "")),
      "a concurrent append committed version 2 first, so the append at expected version 1 must fail",
    ).toEqual([""]);
    expect(
      reasons(outcome).filter((reason) => !/ConcurrencyError/.test(reason)),
      "the concurrent append took version 2 first: the database refused the second version 2 with a unique " +
        "violation (SQLSTATE 23505), and appendToStream must turn that into a ConcurrencyError, not let the " +
        "raw database error out",
    ).toEqual([]);
    expect(
      (await streamEvents(stream)).map((event) => event.data),
      "the stream must hold version 1 and the other writer's version 2 only",
    ).toEqual([{ owner: "Gil" }, { amountCents: 5 }]);
  });

  it("of several concurrent appends at the same expected version exactly one wins; the rest get ConcurrencyError", async () => {
    const stream = accountIdFor("race");
    await accounts.appendToStream(stream, 0, [opened("Dee")]);
    const outcomes = await raceOnEvents(5, (i) => accounts.appendToStream(stream, 1, [deposited(100 + i)]));

    expect(
      outcomes.filter((outcome) => outcome.status === "fulfilled").length,
      "5 appends raced at expected version 1 (all read version 1 before any could write): exactly one may " +
        "succeed. Checking the version in code is not enough; the unique (stream_id, version) constraint decides",
    ).toBe(1);
    expect(
      reasons(outcomes).filter((reason) => !/ConcurrencyError/.test(reason)),
      "the losing appends must fail with ConcurrencyError, not a raw database error: catch the unique violation " +
        "(SQLSTATE 23505) and throw ConcurrencyError",
    ).toEqual([]);
    expect(
      (await streamEvents(stream)).map((event) => event.version),
      "the stream must end with versions 1 and 2 only",
    ).toEqual([1, 2]);
  });
});

task(2, "Rebuild state by folding events", () => {
  it("loadAccount folds the account's events into its state", async () => {
    const accountId = accountIdFor("fold");
    // Written by the grader, and never projected: only a fold of the events can know this state.
    await insertEvents(accountId, [opened("Grace"), deposited(500), withdrawn(120), deposited(30)]);
    expect(
      await accounts.loadAccount(accountId),
      "loadAccount must replay the stream in version order: AccountOpened(Grace), +500, -120, +30 is a " +
        "balance of 410 at version 4. Read the events, not the read model (it lags behind the events)",
    ).toEqual({ accountId, owner: "Grace", balanceCents: 410, version: 4 });
    await postgres().query(
      "insert into events (stream_id, version, type, data) values ($1, 5, 'StatementRequested', '{}')",
      [accountId],
    );
    expect(
      await accounts.loadAccount(accountId),
      "after a fifth event of a type the fold does not know (StatementRequested), the balance stays 410 but " +
        "version must be 5: version is the number of events in the stream, every type counted, or the next " +
        "append at that version collides with an existing one",
    ).toEqual({ accountId, owner: "Grace", balanceCents: 410, version: 5 });
    expect(
      await accounts.loadAccount(accountIdFor("fold", 2)),
      "an account without events does not exist: loadAccount returns null",
    ).toBeNull();
  });

  it("withdraw decides on the folded state and appends MoneyWithdrawn at the version it read", async () => {
    const accountId = accountIdFor("withdraw");
    await insertEvents(accountId, [opened("Hal"), deposited(300)]);
    expect(
      await accounts.withdraw(accountId, 120),
      "withdraw(120) on a balance of 300 at version 2 must return the new state: balance 180, version 3",
    ).toEqual({ accountId, owner: "Hal", balanceCents: 180, version: 3 });
    expect(
      (await streamEvents(accountId)).at(-1),
      "withdraw(120) on a balance of 300 must append MoneyWithdrawn { amountCents: 120 } as version 3",
    ).toEqual({ version: 3, type: "MoneyWithdrawn", data: { amountCents: 120 } });
    for (const amount of [0, -50]) {
      await expect(
        accounts.withdraw(accountId, amount),
        `withdraw(${amount}) must be refused: only a positive amount can be withdrawn`,
      ).rejects.toThrow();
    }

    await expect(
      accounts.withdraw(accountId, 1_000),
      "withdrawing 1000 from a balance of 180 must fail with an error saying insufficient funds",
    ).rejects.toThrow(/insufficient/i);
    await expect(
      accounts.withdraw(accountIdFor("withdraw", 2), 10),
      "withdrawing from an account without events must fail",
    ).rejects.toThrow();
    expect((await streamEvents(accountId)).length, "a refused withdrawal must append nothing").toBe(3);

    expect(
      await accounts.withdraw(accountId, 180),
      "withdrawing the whole balance (180 of 180) is allowed: only a balance BELOW the amount is insufficient",
    ).toEqual({ accountId, owner: "Hal", balanceCents: 0, version: 4 });
  });

  it("a withdrawal whose stream moved on between its load and its append fails", async () => {
    const accountId = accountIdFor("moved-on");
    await insertEvents(accountId, [opened("Ivo"), deposited(100)]);
    // Lock queue: first holds the table; withdraw's load queues behind it, then second queues behind the
    // load. Releasing first lets the load run alone, then second takes the table before withdraw appends.
    const first = await postgres().connect();
    const second = await postgres().connect();
    let competitorAppended: boolean;
    let outcome: PromiseSettledResult<unknown>[];
    try {
      await first.query("begin");
      await first.query("lock table events in access exclusive mode");
      const withdrawal = Promise.allSettled([accounts.withdraw(accountId, 80)]);
      await waitFor(async () => (await blockedSessions()) >= 1, 3_000);
      await second.query("begin");
      const secondLocked = second.query("lock table events in access exclusive mode");
      await waitFor(async () => (await blockedSessions()) >= 2, 3_000);
      await first.query("commit");
      await secondLocked;
      // Another withdrawal of 80 lands after withdraw loaded version 2, before it appends.
      competitorAppended = await second
        .query(
          "insert into events (stream_id, version, type, data) values ($1, 3, 'MoneyWithdrawn', '{\"amountCents\": 80}')",
          [accountId],
        )
        .then(
          () => true,
          () => false,
        );
      await second.query(competitorAppended ? "commit" : "rollback");
      outcome = await withdrawal;
    } finally {
      await first.query("rollback").catch(() => undefined);
      await second.query("rollback").catch(() => undefined);
      first.release();
      second.release();
    }
    const withdrawals = (await streamEvents(accountId)).filter((event) => event.type === "MoneyWithdrawn");
    expect(
      withdrawals.length,
      "withdraw(80) loaded the account at version 2 with 100 cents; then another withdrawal of 80 was " +
        "appended as version 3, before withdraw appended. Both went through and the account is overdrawn: " +
        "withdraw must append at the version it LOADED (2), so the store refuses it with ConcurrencyError. " +
        "Reading the stream's version again just before the append hides the conflict",
    ).toBe(1);
    if (competitorAppended) {
      expect(
        outcome[0]?.status,
        "the other withdrawal took version 3 after withdraw loaded version 2: withdraw must fail",
      ).toBe("rejected");
    }
  });

  it("two concurrent withdrawals that together overdraw the account: only one goes through", async () => {
    const accountId = accountIdFor("overdraw");
    await insertEvents(accountId, [opened("Ida"), deposited(100)]);
    const outcomes = await raceOnEvents(2, () => accounts.withdraw(accountId, 80));

    const withdrawals = (await streamEvents(accountId)).filter((event) => event.type === "MoneyWithdrawn");
    expect(
      withdrawals.length,
      "two withdrawals of 80 each read a balance of 100 at version 2 before either wrote: both appended, and " +
        "the account is overdrawn. Append at the version you decided on, and let the unique constraint refuse " +
        "the second",
    ).toBe(1);
    expect(
      outcomes.filter((outcome) => outcome.status === "fulfilled").length,
      "exactly one of the two withdrawals must succeed (the other fails with ConcurrencyError, or with " +
        "insufficient funds if you retry it on fresh state)",
    ).toBe(1);
    expect(await expectedBalances([accountId]), "the balance left must be 20").toEqual([
      { account_id: accountId, owner: "Ida", balance_cents: 20 },
    ]);
  });
});

task(3, "Project events into a read model with a checkpoint", () => {
  it("runProjection applies the events after the checkpoint in global order, once each", async () => {
    const [ada, bob] = [accountIdFor("project", 1), accountIdFor("project", 2)];
    // Interleaved streams: global order and each stream's version order differ.
    await accounts.appendToStream(ada, 0, [opened("Ada")]);
    await accounts.appendToStream(bob, 0, [opened("Bob")]);
    await accounts.appendToStream(ada, 1, [deposited(500)]);
    await accounts.appendToStream(bob, 1, [deposited(250)]);
    await accounts.appendToStream(ada, 2, [withdrawn(100)]);
    await accounts.appendToStream(bob, 2, [deposited(50)]);
    // A type this read model does not use: it changes nothing, but it is still applied and counted.
    await accounts.appendToStream(ada, 3, [{ type: "StatementRequested", data: { month: "2026-01" } }]);

    const pending = await pendingEvents();
    expect(
      await accounts.runProjection(),
      `runProjection() must return how many events it applied: ${pending} were after the checkpoint ` +
        "(events of every type count, including ones that change nothing)",
    ).toBe(pending);
    const expected = await expectedBalances([ada, bob]);
    expect(
      await readModel([ada, bob]),
      "after runProjection() account_balances must hold each account's owner and balance as its events say",
    ).toEqual(expected);
    expect(
      await checkpoint(),
      `projection_checkpoints row '${PROJECTION}' must hold the global_position of the last event applied ` +
        "(the last event was of a type the read model ignores: the checkpoint still moves past it)",
    ).toBe(await lastPosition());
    expect(
      await readModel(),
      "the first run must also have applied the events of every account written by earlier tests: walk the " +
        "events strictly by global_position (a number: careful with anything that sorts it as text)",
    ).toEqual(await expectedBalances());

    const checkpointAfterFirstRun = await checkpoint();
    expect(
      await accounts.runProjection(),
      "a second runProjection() with no new events must apply nothing and return 0",
    ).toBe(0);
    expect(
      await readModel([ada, bob]),
      "a second runProjection() with no new events changed balances: it must start after the checkpoint, not " +
        "from the beginning, or every run applies every event again",
    ).toEqual(expected);
    expect(await checkpoint(), "a run with no new events must leave the checkpoint where it was").toBe(
      checkpointAfterFirstRun,
    );

    await accounts.appendToStream(ada, 4, [deposited(7)]);
    expect(await accounts.runProjection(), "one new event: runProjection() must return 1").toBe(1);
    expect(
      await readModel([ada, bob]),
      "the next run must apply the one new event (+7 for Ada) and nothing else",
    ).toEqual(await expectedBalances([ada, bob]));
  });

  it("a projection killed mid-run and run again applies every event exactly once", async () => {
    const [ada, bob] = [accountIdFor("killed", 1), accountIdFor("killed", 2)];
    await accounts.appendToStream(ada, 0, [opened("Ada")]);
    await accounts.appendToStream(bob, 0, [opened("Bob")]);
    await accounts.runProjection();
    await accounts.appendToStream(ada, 1, [deposited(10)]);
    await accounts.appendToStream(ada, 2, [deposited(20)]);
    await accounts.appendToStream(bob, 1, [deposited(30)]);
    await accounts.appendToStream(ada, 3, [deposited(40)]);

    // The grader locks Bob's row, as a long report query might: the run gets stuck on Bob's deposit,
    // after it has applied Ada's first two.
    await crashProjectionStuckOn("select * from account_balances where account_id = $1 for update", [bob]);

    await accounts.runProjection();
    expect(
      await readModel([ada, bob]),
      "after a run was killed halfway and the projection ran again, some deposits counted twice (or not at " +
        "all). Update the read model and the checkpoint in the SAME transaction: then a crash leaves them " +
        "agreeing, and the next run starts exactly after the last event applied",
    ).toEqual(await expectedBalances([ada, bob]));
    expect(await checkpoint(), "the checkpoint must end at the last event").toBe(await lastPosition());
  });

  it("a projection killed while it waits to move the checkpoint applies no event twice", async () => {
    const [ada, bob] = [accountIdFor("killed-checkpoint", 1), accountIdFor("killed-checkpoint", 2)];
    await accounts.appendToStream(ada, 0, [opened("Ada")]);
    await accounts.appendToStream(bob, 0, [opened("Bob")]);
    await accounts.runProjection();
    await accounts.appendToStream(ada, 1, [deposited(10)]);
    await accounts.appendToStream(bob, 1, [deposited(30)]);
    await accounts.appendToStream(ada, 2, [deposited(20)]);

    // This time the grader locks the checkpoint row: the run gets stuck where it moves the checkpoint.
    await crashProjectionStuckOn("select * from projection_checkpoints where projection = $1 for update", [
      PROJECTION,
    ]);

    await accounts.runProjection();
    expect(
      await readModel([ada, bob]),
      "a run was killed while it waited to move the checkpoint (the grader held the checkpoint row), and after " +
        "the next run some deposits counted twice: balance updates had been committed without the checkpoint " +
        "that records them. Apply each event and move the checkpoint in the SAME transaction",
    ).toEqual(await expectedBalances([ada, bob]));
    expect(await checkpoint(), "the checkpoint must end at the last event").toBe(await lastPosition());
  });

  it("a projection killed after it applied an event but before the checkpoint moved applies it once", async () => {
    const [ada, bob] = [accountIdFor("killed-after-apply", 1), accountIdFor("killed-after-apply", 2)];
    await accounts.appendToStream(ada, 0, [opened("Ada")]);
    await accounts.appendToStream(bob, 0, [opened("Bob")]);
    await accounts.runProjection();
    await accounts.appendToStream(ada, 1, [deposited(10)]);
    await accounts.appendToStream(bob, 1, [deposited(30)]);

    // The grader makes every UPDATE of the checkpoint row wait for an advisory lock it holds: the run
    // gets stuck at the very moment it moves the checkpoint, after its balance update for that event.
    const gate = 7_307_307;
    await postgres().query(`
      create or replace function grader_hold_checkpoint() returns trigger language plpgsql as $$
      begin
        perform pg_advisory_xact_lock(${gate});
        return new;
      end $$`);
    await postgres().query("drop trigger if exists grader_hold_checkpoint on projection_checkpoints");
    await postgres().query(
      "create trigger grader_hold_checkpoint before update on projection_checkpoints for each row " +
        "execute function grader_hold_checkpoint()",
    );
    try {
      await crashProjectionStuckOn("select pg_advisory_xact_lock($1::bigint)", [gate]);
    } finally {
      await postgres().query("drop trigger if exists grader_hold_checkpoint on projection_checkpoints");
      await postgres().query("drop function if exists grader_hold_checkpoint()");
    }

    const rerun = await accounts.runProjection().then(
      () => "ok",
      (error: unknown) => String((error as Error).message),
    );
    expect(rerun, "after the killed run, the next runProjection() must succeed").toBe("ok");
    expect(
      await readModel([ada, bob]),
      "a run was killed after it had updated a balance and while it was moving the checkpoint past that " +
        "event; after the next run the deposit counted twice. The balance update had been committed on its " +
        "own (no BEGIN, or a COMMIT before the checkpoint moved): apply the event and move the checkpoint " +
        "in the SAME transaction, so a crash between the two undoes both",
    ).toEqual(await expectedBalances([ada, bob]));
    expect(await checkpoint(), "the checkpoint must end at the last event").toBe(await lastPosition());
  });

  it("an event appended while a run is under way is applied by a later run", async () => {
    const [ada, bob] = [accountIdFor("during", 1), accountIdFor("during", 2)];
    await accounts.appendToStream(ada, 0, [opened("Ada")]);
    await accounts.appendToStream(bob, 0, [opened("Bob")]);
    await accounts.runProjection();
    await accounts.appendToStream(ada, 1, [deposited(10)]);

    // The run gets stuck on Ada's row; meanwhile Bob deposits.
    const holder = await postgres().connect();
    let run: PromiseSettledResult<number>[];
    try {
      await holder.query("begin");
      await holder.query("select * from account_balances where account_id = $1 for update", [ada]);
      const running = Promise.allSettled([accounts.runProjection()]);
      await waitFor(async () => (await blockedSessions()) > 0, 3_000);
      await accounts.appendToStream(bob, 1, [deposited(25)]);
      await holder.query("commit");
      run = await running;
    } finally {
      await holder.query("rollback").catch(() => undefined);
      holder.release();
    }
    expect(
      reasons(run),
      "runProjection() must succeed once the grader's lock on Ada's row is released",
    ).toEqual([]);

    await accounts.runProjection();
    expect(
      await readModel([ada, bob]),
      "Bob's deposit of 25 was appended while a run was under way, and two runs later it is still missing " +
        "from the read model: the checkpoint must be the position of the last event the run APPLIED, not " +
        "the highest position in the events table",
    ).toEqual(await expectedBalances([ada, bob]));
    expect(await checkpoint(), "the checkpoint must end at the last event").toBe(await lastPosition());
  });
});

task(4, "Rebuild the read model from scratch", () => {
  it("rebuildProjection replays every event from the start into the same read model", async () => {
    const accountId = accountIdFor("rebuild");
    await accounts.appendToStream(accountId, 0, [opened("Kay"), deposited(900), withdrawn(400)]);
    await accounts.runProjection();
    const incremental = await readModel();
    // A bug in an old version of the projection left a wrong balance behind: a rebuild must fix it.
    await postgres().query("update account_balances set balance_cents = 123456 where account_id = $1", [
      accountId,
    ]);
    // ...and a row for an account that has no events at all.
    const stray = accountIdFor("rebuild", 2);
    await postgres().query(
      "insert into account_balances (account_id, owner, balance_cents) values ($1, 'Nobody', 999)",
      [stray],
    );

    await accounts.rebuildProjection();
    const rebuilt = await readModel();
    expect(
      rebuilt.filter((row) => row.account_id === stray),
      "the read model held a row for an account without events; after rebuildProjection() it must be gone: " +
        "empty the whole table, not only the rows of accounts that have events",
    ).toEqual([]);
    expect(
      rebuilt.find((row) => row.account_id === accountId),
      "after rebuildProjection() the balance must come from the events again (the grader had corrupted it): " +
        "empty account_balances, move the checkpoint back to 0, and project everything",
    ).toEqual({ account_id: accountId, owner: "Kay", balance_cents: 500 });
    expect(
      rebuilt,
      "a rebuild from scratch must produce exactly the read model that the incremental runs built, for every account",
    ).toEqual(incremental);
    expect(rebuilt, "the rebuilt read model must match the events of every account").toEqual(
      await expectedBalances(),
    );
    expect(await checkpoint(), "after the rebuild the checkpoint must be at the last event").toBe(
      await lastPosition(),
    );
  });
});
