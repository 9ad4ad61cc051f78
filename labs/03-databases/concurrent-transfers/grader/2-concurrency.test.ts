import { afterAll, beforeAll, expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  bank,
  createAccounts,
  distinctFailures,
  fulfilled,
  raceOnLockedAccounts,
  storedBalances,
  transferRows,
  uid,
} from "./helpers.ts";

const sum = (values: (number | null)[]) => values.reduce<number>((total, value) => total + (value ?? 0), 0);

// Why a transfer that sorts its locks can still deadlock: the foreign keys of transfers lock the accounts.
const foreignKeyNote =
  " Inserting the transfers row locks both accounts too (FOR KEY SHARE, for its foreign keys), and that lock conflicts with a later FOR UPDATE.";

// Postgres looks for deadlocks after a transaction has waited deadlock_timeout (1 s by default) and then
// aborts one of them. A shorter wait makes a deadlock-prone transfer fail in these tests with "deadlock
// detected" within the call timeout, instead of piling up behind one-second waits. Correct code never notices.
beforeAll(async () => {
  await postgres().query("ALTER SYSTEM SET deadlock_timeout = '100ms'");
  await postgres().query("SELECT pg_reload_conf()");
});

afterAll(async () => {
  await postgres().query("ALTER SYSTEM RESET deadlock_timeout");
  await postgres().query("SELECT pg_reload_conf()");
});

task(4, "Stay correct under concurrent transfers", () => {
  it("8 concurrent transfers of 300 from an account holding 1000: exactly 3 succeed, the rest are refused", async () => {
    const [source, destination] = await createAccounts([1_000, 0]);
    const ids = Array.from({ length: 8 }, () => uid("t"));
    const outcomes = await raceOnLockedAccounts([source!], ids.length, () =>
      ids.map((id) => bank.transfer(id, source!, destination!, 300)),
    );

    const balances = await storedBalances([source!, destination!]);
    expect(
      sum(balances),
      `money was created or destroyed: balances are ${JSON.stringify(balances)}, they must still add up to 1000. Transfers that read a balance and then write back a computed value overwrite each other (lost update): lock the rows with SELECT ... FOR UPDATE inside the transaction before reading them`,
    ).toBe(1_000);
    const succeeded = fulfilled(outcomes).length;
    expect(
      succeeded,
      `only 3 x 300 fit in 1000, but ${succeeded} transfers succeeded: each one checked a balance that another was about to spend. Read the balance under a row lock (SELECT ... FOR UPDATE) in the same transaction that debits it`,
    ).toBeLessThanOrEqual(3);
    expect(
      distinctFailures(outcomes).filter((failure) => !/insufficient funds/i.test(failure)),
      "the transfers that do not fit must be refused with 'insufficient funds', and only those. A violated check constraint means the table's CHECK (balance_cents >= 0) caught an overdraft your own balance check let through: the balance was read without a row lock. For 'deadlock detected' see task 5",
    ).toEqual([]);
    expect(succeeded, "3 transfers of 300 fit in 1000, and all 3 must succeed").toBe(3);
    expect(balances, "after 3 transfers of 300 the source holds 100 and the destination 900").toEqual([
      100, 900,
    ]);
    expect(
      (await transferRows({ ids })).length,
      "exactly the 3 transfers that moved money must be recorded in transfers",
    ).toBe(3);
  });

  it("10 concurrent transfers into one account all land", async () => {
    const sources = await createAccounts(Array.from({ length: 10 }, () => 500));
    const [destination] = await createAccounts([0]);
    const outcomes = await raceOnLockedAccounts([destination!], sources.length, () =>
      sources.map((source) => bank.transfer(uid("t"), source, destination!, 500)),
    );

    expect(
      distinctFailures(outcomes),
      "every one of these transfers is affordable, none may fail (for 'deadlock detected' see task 5)",
    ).toEqual([]);
    const [received] = await storedBalances([destination!]);
    expect(
      received,
      `10 transfers of 500 must leave 5000 in the destination, found ${received}: credits that write a balance computed from an earlier read overwrite each other. Lock the destination row too, or let the database add: SET balance_cents = balance_cents + $amount`,
    ).toBe(5_000);
    expect(await storedBalances(sources), "every source sent its 500 and is empty").toEqual(
      sources.map(() => 0),
    );
  });
});

task(5, "Never deadlock: lock rows in a consistent order", () => {
  it("transfers in opposite directions between two accounts all complete", async () => {
    const [a, b] = await createAccounts([10_000, 10_000]);
    const outcomes = await raceOnLockedAccounts([a!, b!], 10, () =>
      Array.from({ length: 10 }, () => [
        bank.transfer(uid("ab"), a!, b!, 7),
        bank.transfer(uid("ba"), b!, a!, 11),
      ]).flat(),
    );

    expect(
      distinctFailures(outcomes),
      "all 20 transfers are affordable and must succeed. 'deadlock detected' means one transfer locked A then waited for B while another locked B then waited for A: lock both accounts in the same order every time (e.g. sorted by id), whatever the direction." +
        foreignKeyNote,
    ).toEqual([]);
    expect(await storedBalances([a!, b!]), "A sent 10 x 7 and received 10 x 11; B the reverse").toEqual([
      10_040, 9_960,
    ]);
    expect((await transferRows({ accounts: [a!, b!] })).length, "all 20 transfers must be recorded").toBe(20);
  });

  it("transfers around a cycle A -> B -> C -> A all complete", async () => {
    const [a, b, c] = await createAccounts([1_000, 1_000, 1_000]);
    const edges = [
      [a!, b!],
      [b!, c!],
      [c!, a!],
    ] as const;
    const outcomes = await raceOnLockedAccounts([a!, b!, c!], 9, () =>
      Array.from({ length: 3 }, () =>
        edges.map(([from, to]) => bank.transfer(uid("cycle"), from, to, 100)),
      ).flat(),
    );

    expect(
      distinctFailures(outcomes),
      "a cycle of transfers deadlocks when each one locks its source first: lock the two rows in a global order (sorted ids), not in request order." +
        foreignKeyNote,
    ).toEqual([]);
    expect(
      await storedBalances([a!, b!, c!]),
      "each account sent and received 3 x 100, so nothing changes",
    ).toEqual([1_000, 1_000, 1_000]);
    expect((await transferRows({ accounts: [a!, b!, c!] })).length, "all 9 transfers must be recorded").toBe(
      9,
    );
  });
});
