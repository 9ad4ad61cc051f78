import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  bank,
  createAccounts,
  distinctFailures,
  fulfilled,
  messageOf,
  raceOnLockedAccounts,
  rejection,
  storedBalances,
  transferRows,
  uid,
} from "./helpers.ts";

task(6, "Make transfers idempotent on their id", () => {
  it("retrying a transfer with the same id answers with the original and moves no money", async () => {
    const [from, to] = await createAccounts([1_000, 0]);
    const id = uid("t");
    const first = await bank.transfer(id, from!, to!, 400);
    expect(
      first.replayed,
      "the first call with a new transfer id does the transfer: replayed must be false",
    ).toBe(false);

    const retry = await bank.transfer(id, from!, to!, 400);
    expect(
      retry,
      "a retry with the same id and the same details must return the same transfer with replayed: true",
    ).toEqual({ id, fromId: from, toId: to, amountCents: 400, replayed: true });
    expect(
      await storedBalances([from!, to!]),
      "a retry must not move the money again: look up the transfer id before debiting",
    ).toEqual([600, 400]);

    // Spend what is left: a retry of the old transfer is still a replay, not a new transfer that no longer fits.
    await bank.transfer(uid("t"), from!, to!, 600);
    const late = await rejection(bank.transfer(id, from!, to!, 400));
    expect(
      late?.message,
      "a retry of a transfer that was done must be answered from the record even if the source has since been emptied: check the transfer id before the balance",
    ).toBeUndefined();
    expect(await storedBalances([from!, to!]), "the late retry must not move money").toEqual([0, 1_000]);
    expect((await transferRows({ ids: [id] })).length, "one transfer id, one transfers row").toBe(1);
  });

  it("reusing a transfer id for a different transfer is refused", async () => {
    const [from, to] = await createAccounts([1_000, 1_000]);
    const id = uid("t");
    await bank.transfer(id, from!, to!, 100);
    for (const [a, b, amount] of [
      [from!, to!, 200],
      [to!, from!, 100],
    ] as const) {
      const error = await rejection(bank.transfer(id, a, b, amount));
      expect(
        messageOf(error),
        `transfer id ${id} was used for ${from} -> ${to}, 100 cents; reusing it for ${a} -> ${b}, ${amount} cents must fail with a message containing 'already used' (a client bug, not a retry)`,
      ).toMatch(/already used/i);
    }
    expect(await storedBalances([from!, to!]), "only the original transfer may have moved money").toEqual([
      900, 1_100,
    ]);
    expect(
      await transferRows({ ids: [id] }),
      "the transfers row must still describe the original transfer",
    ).toEqual([{ id, from_id: from, to_id: to, amount_cents: 100 }]);
  });

  it("6 concurrent copies of one transfer move the money once, and all get an answer", async () => {
    const [from, to] = await createAccounts([1_000, 0]);
    const id = uid("dup");
    const outcomes = await raceOnLockedAccounts([from!], 6, () =>
      Array.from({ length: 6 }, () => bank.transfer(id, from!, to!, 250)),
    );

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
      balances,
      "the transfer must have happened exactly once: 250 moved from the source to the destination",
    ).toEqual([750, 250]);
    const results = fulfilled(outcomes);
    expect(
      results.filter((result) => !result.replayed).length,
      "exactly one of the copies did the transfer (replayed: false); the others must report replayed: true",
    ).toBe(1);
    expect((await transferRows({ ids: [id] })).length, "one transfer id, one transfers row").toBe(1);
  });
});
