import { afterAll, beforeAll, expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  bank,
  createAccounts,
  deadlockMessage,
  defaultDeadlockDetection,
  distinctFailures,
  fulfilled,
  messageOf,
  raceOnLockedAccounts,
  rejection,
  showBalances,
  slowDeadlockDetection,
  storedBalances,
  succeeds,
  transferRows,
  uid,
} from "./helpers.ts";

beforeAll(slowDeadlockDetection);
afterAll(defaultDeadlockDetection);

task(6, "Make transfers idempotent on their id", () => {
  it("retrying a transfer with the same id answers with the original and moves no money", async () => {
    const [from, to] = await createAccounts([1_000, 0]);
    const id = uid("t");
    const first = await succeeds(
      bank.transfer(id, from!, to!, 400),
      "a transfer of 400 from an account holding 1000 must succeed",
    );
    expect(
      first.replayed,
      "the first call with a new transfer id does the transfer: replayed must be false",
    ).toBe(false);

    const retry = await succeeds(
      bank.transfer(id, from!, to!, 400),
      "a retry with the same transfer id and the same details must succeed (it is answered from the record)",
    );
    expect(
      retry,
      "a retry with the same id and the same details must return the same transfer with replayed: true",
    ).toEqual({ id, fromId: from, toId: to, amountCents: 400, replayed: true });
    expect(
      showBalances(await storedBalances([from!, to!])),
      "a retry must not move the money again: look up the transfer id before debiting",
    ).toBe(showBalances([600, 400]));

    // The same details under a new id are a new transfer: the id is the idempotency key, not the details.
    const another = await succeeds(
      bank.transfer(uid("t"), from!, to!, 400),
      "a second transfer with the same details but a new transfer id must succeed",
    );
    expect(
      another.replayed,
      "a new transfer id is a new transfer, even with the same accounts and amount: replayed must be false and the money must move",
    ).toBe(false);
    expect(
      showBalances(await storedBalances([from!, to!])),
      "the transfer with the new id must move another 400",
    ).toBe(showBalances([200, 800]));

    // Spend what is left: a retry of the old transfer is still a replay, not a new transfer that no longer fits.
    await succeeds(
      bank.transfer(uid("t"), from!, to!, 200),
      "a transfer of the whole remaining balance (200 of 200) must succeed",
    );
    const late = await rejection(bank.transfer(id, from!, to!, 400));
    expect(
      late?.message,
      "a retry of a transfer that was done must be answered from the record even if the source has since been emptied: check the transfer id before the balance",
    ).toBeUndefined();
    expect(showBalances(await storedBalances([from!, to!])), "the late retry must not move money").toBe(
      showBalances([0, 1_000]),
    );
    expect((await transferRows({ ids: [id] })).length, "one transfer id, one transfers row").toBe(1);
  });

  it("reusing a transfer id for a different transfer is refused", async () => {
    const [from, to, third] = await createAccounts([1_000, 1_000, 1_000]);
    const id = uid("t");
    await succeeds(
      bank.transfer(id, from!, to!, 100),
      "a transfer of 100 from an account holding 1000 must succeed",
    );
    // Each reuse changes one detail (the amount, the destination, the source), then the direction.
    for (const [a, b, amount] of [
      [from!, to!, 200],
      [from!, third!, 100],
      [third!, to!, 100],
      [to!, from!, 100],
    ] as const) {
      const error = await rejection(bank.transfer(id, a, b, amount));
      expect(
        messageOf(error),
        `transfer id ${id} was used for ${from} -> ${to}, 100 cents; reusing it for ${a} -> ${b}, ${amount} cents must fail with a message containing 'already used' (a client bug, not a retry)`,
      ).toMatch(/already used/i);
    }
    expect(
      showBalances(await storedBalances([from!, to!, third!])),
      "only the original transfer may have moved money",
    ).toBe(showBalances([900, 1_100, 1_000]));
    expect(
      await transferRows({ ids: [id] }),
      "the transfers row must still describe the original transfer",
    ).toEqual([{ id, from_id: from, to_id: to, amount_cents: 100 }]);
  });

  it("6 concurrent copies of one transfer move the money once, and all get an answer", async () => {
    const [from, to] = await createAccounts([1_000, 0]);
    const id = uid("dup");
    const race = await raceOnLockedAccounts([from!], 6, () =>
      Array.from({ length: 6 }, () => bank.transfer(id, from!, to!, 250)),
    );
    const outcomes = race.outcomes;
    expect(race.deadlocks, deadlockMessage(race.deadlocks)).toEqual([]);

    const balances = await storedBalances([from!, to!]);
    expect(
      balances[0],
      `6 concurrent copies of transfer ${id} moved money more than once (balances ${JSON.stringify(balances)}): the check "has this id been done?" ran before the other copies committed. Decide it while holding the account locks, or let the primary key on transfers.id decide (INSERT ... ON CONFLICT waits for the other copy)`,
    ).toBeGreaterThanOrEqual(750);
    expect(
      distinctFailures(outcomes),
      "every copy of a retried transfer must get the transfer back (replayed: true), not an error such as a duplicate key violation",
    ).toEqual([]);
    expect(
      showBalances(balances),
      "the transfer must have happened exactly once: 250 moved from the source to the destination",
    ).toBe(showBalances([750, 250]));
    const results = fulfilled(outcomes);
    expect(
      results.filter((result) => !result.replayed).length,
      "exactly one of the copies did the transfer (replayed: false); the others must report replayed: true",
    ).toBe(1);
    expect((await transferRows({ ids: [id] })).length, "one transfer id, one transfers row").toBe(1);
  });

  it("a refused transfer leaves its id free: once the money is there, the same id goes through", async () => {
    const [from, to] = await createAccounts([300, 0]);
    const id = uid("t");
    const refused = await rejection(bank.transfer(id, from!, to!, 500));
    expect(
      messageOf(refused),
      "a transfer of 500 from an account holding 300 must be refused with 'insufficient funds'",
    ).toMatch(/insufficient funds/i);

    await postgres().query("UPDATE accounts SET balance_cents = 1000 WHERE id = $1", [from]);
    const retried = await succeeds(
      bank.transfer(id, from!, to!, 500),
      "the source now holds 1000: the same transfer id, refused before, must now go through (a refused transfer " +
        "wrote nothing, so its id is free; do not remember refusals)",
    );
    expect(retried.replayed, "the transfer id's first success moved the money: replayed must be false").toBe(
      false,
    );
    expect(showBalances(await storedBalances([from!, to!])), "the transfer must have moved 500 once").toBe(
      showBalances([500, 500]),
    );
  });
});
