import { afterAll, beforeAll, expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  bank,
  createAccounts,
  deadlockMessage,
  defaultDeadlockDetection,
  distinctFailures,
  fulfilled,
  raceOnLockedAccounts,
  showBalances,
  slowDeadlockDetection,
  storedBalances,
  transferRows,
  uid,
} from "./helpers.ts";

/** The database sessions of the learner's code, idle ones included (a pool keeps them open for 10 s). */
async function learnerConnections(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND usename <> current_user`,
  );
  return rows[0]?.n ?? 0;
}

const sum = (values: (number | null)[]) => values.reduce<number>((total, value) => total + (value ?? 0), 0);

beforeAll(slowDeadlockDetection);
afterAll(defaultDeadlockDetection);

task(4, "Stay correct under concurrent transfers", () => {
  it("8 concurrent transfers of 300 from an account holding 1000: exactly 3 succeed, the rest are refused", async () => {
    // Ids that sort around the source: 4 destinations sort before it and 4 after it, so code that handles
    // the two rows in id order meets both orders. Every transfer goes to its own destination.
    const stem = uid("acct");
    const source = `${stem}-5`;
    const destinations = [1, 2, 3, 4, 6, 7, 8, 9].map((n) => `${stem}-${n}`);
    await createAccounts([1_000, ...destinations.map(() => 0)], "grader", [source, ...destinations]);
    const ids = destinations.map(() => uid("t"));
    const race = await raceOnLockedAccounts([source], ids.length, () =>
      ids.map((id, i) => bank.transfer(id, source, destinations[i]!, 300)),
    );

    expect(race.deadlocks, deadlockMessage(race.deadlocks)).toEqual([]);
    expect(
      race.queued,
      `the grader held a lock on the source account and started 8 transfers at once, but at most ${race.queued} of them ` +
        "ever reached the database at the same time. Use one pg.Pool with its default size (10 connections), and let " +
        "the database's locks order concurrent transfers, not a queue or a lock in your JavaScript: another instance " +
        "of your code would not share it",
    ).toBeGreaterThanOrEqual(8);

    const balances = await storedBalances(destinations);
    const rows = await transferRows({ ids });
    const leftovers = race.outcomes.flatMap((outcome, i) => {
      if (outcome.status === "fulfilled") return [];
      const traces = [
        ...(balances[i] !== 0 ? [`its destination now holds ${balances[i]}`] : []),
        ...(rows.some((row) => row.id === ids[i]) ? ["its transfers row was kept"] : []),
      ];
      return traces.length > 0 ? [`transfer ${ids[i]} failed but ${traces.join(" and ")}`] : [];
    });
    expect(
      leftovers,
      "a transfer that throws must leave no trace: ROLLBACK everything it wrote (never COMMIT after a refusal), " +
        "even a credit or a transfers row written before the balance check failed",
    ).toEqual([]);

    expect(
      distinctFailures(race.outcomes).filter((failure) => !/insufficient funds/i.test(failure)),
      "the transfers that do not fit must be refused with 'insufficient funds', and only those. A violated check " +
        "constraint (balance_cents >= 0) means the table's CHECK caught an overdraft that your own balance check let " +
        "through: the balance was read with a plain SELECT, which does not wait for the transfers that are about to " +
        "debit it. Read it under a row lock (SELECT ... FOR UPDATE) in the transaction that debits it, or let one " +
        "guarded UPDATE decide (... WHERE balance_cents >= $amount)",
    ).toEqual([]);
    const [left] = await storedBalances([source]);
    const total = sum([left!, ...balances]);
    expect(
      total,
      `money was created or destroyed: the source holds ${left} and the destinations ${showBalances(balances)}, ` +
        `${total} in all instead of 1000. Transfers that read a balance and then write back a value computed from it ` +
        "overwrite each other (lost update): lock the row (SELECT ... FOR UPDATE) before reading it, or let the " +
        "database compute (SET balance_cents = balance_cents - $amount)",
    ).toBe(1_000);
    const succeeded = fulfilled(race.outcomes).length;
    expect(
      succeeded,
      `only 3 x 300 fit in 1000, but ${succeeded} transfers succeeded: each one checked a balance that another was ` +
        "about to spend. Read the balance under a row lock (SELECT ... FOR UPDATE) in the same transaction that debits it",
    ).toBeLessThanOrEqual(3);
    expect(succeeded, "3 transfers of 300 fit in 1000, and all 3 must succeed").toBe(3);
    expect(left, "after 3 transfers of 300 the source holds 100").toBe(100);
    const arrived = race.outcomes.map((outcome) => (outcome.status === "fulfilled" ? 300 : 0));
    expect(
      showBalances(balances),
      "each transfer that succeeded must have credited its own destination with 300, and no other",
    ).toBe(showBalances(arrived));
    expect(rows.length, "exactly the 3 transfers that moved money must be recorded in transfers").toBe(3);
  });

  it("10 concurrent transfers into one account all land", async () => {
    const sources = await createAccounts(Array.from({ length: 10 }, () => 500));
    const [destination] = await createAccounts([0]);
    const race = await raceOnLockedAccounts([destination!], sources.length, () =>
      sources.map((source) => bank.transfer(uid("t"), source, destination!, 500)),
    );

    expect(race.deadlocks, deadlockMessage(race.deadlocks)).toEqual([]);
    expect(
      distinctFailures(race.outcomes),
      "every one of these transfers is affordable, none may fail",
    ).toEqual([]);
    const [received] = await storedBalances([destination!]);
    expect(
      received,
      `10 transfers of 500 must leave 5000 in the destination, found ${received}: credits that write a balance computed from an earlier read overwrite each other. Lock the destination row too, or let the database add: SET balance_cents = balance_cents + $amount`,
    ).toBe(5_000);
    expect(showBalances(await storedBalances(sources)), "every source sent its 500 and is empty").toBe(
      showBalances(sources.map(() => 0)),
    );
  });
});

task(5, "Never deadlock: lock rows in a consistent order", () => {
  it("transfers in opposite directions between two accounts all complete", async () => {
    const [a, b] = await createAccounts([10_000, 10_000]);
    const race = await raceOnLockedAccounts([a!, b!], 10, () =>
      Array.from({ length: 10 }, () => [
        bank.transfer(uid("ab"), a!, b!, 7),
        bank.transfer(uid("ba"), b!, a!, 11),
      ]).flat(),
    );

    expect(race.deadlocks, deadlockMessage(race.deadlocks)).toEqual([]);
    expect(distinctFailures(race.outcomes), "all 20 transfers are affordable and must succeed").toEqual([]);
    const connections = await learnerConnections();
    expect(
      connections,
      `after 20 concurrent transfers your code holds ${connections} database connections, but one pg.Pool with its ` +
        "default size never opens more than 10. Create the pool once per process (not per call), keep its default " +
        "size, and give every client back with client.release()",
    ).toBeLessThanOrEqual(10);
    expect(
      showBalances(await storedBalances([a!, b!])),
      "A sent 10 x 7 and received 10 x 11; B the reverse",
    ).toBe(showBalances([10_040, 9_960]));
    expect((await transferRows({ accounts: [a!, b!] })).length, "all 20 transfers must be recorded").toBe(20);
  });

  it("transfers around a cycle A -> B -> C -> A all complete", async () => {
    const [a, b, c] = await createAccounts([1_000, 1_000, 1_000]);
    const edges = [
      [a!, b!],
      [b!, c!],
      [c!, a!],
    ] as const;
    const race = await raceOnLockedAccounts([a!, b!, c!], 9, () =>
      Array.from({ length: 3 }, () =>
        edges.map(([from, to]) => bank.transfer(uid("cycle"), from, to, 100)),
      ).flat(),
    );

    expect(race.deadlocks, deadlockMessage(race.deadlocks)).toEqual([]);
    expect(distinctFailures(race.outcomes), "all 9 transfers are affordable and must succeed").toEqual([]);
    expect(
      showBalances(await storedBalances([a!, b!, c!])),
      "each account sent and received 3 x 100, so nothing changes",
    ).toBe(showBalances([1_000, 1_000, 1_000]));
    expect((await transferRows({ accounts: [a!, b!, c!] })).length, "all 9 transfers must be recorded").toBe(
      9,
    );
  });
});
