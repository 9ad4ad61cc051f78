import { afterAll, beforeAll, expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import { bank, createAccounts, messageOf, rejection, storedBalances, transferRows, uid } from "./helpers.ts";

task(1, "Open accounts and read balances", () => {
  it("openAccount stores the row and balance() reads it back as a number", async () => {
    const id = uid("open");
    const account = await bank.openAccount(id, "Ada Lovelace", 12_345);
    expect(account, "openAccount must return { id, owner, balanceCents } for the account it created").toEqual(
      {
        id,
        owner: "Ada Lovelace",
        balanceCents: 12_345,
      },
    );

    const { rows } = await postgres().query<{ owner: string; balance_cents: string }>(
      "SELECT owner, balance_cents FROM accounts WHERE id = $1",
      [id],
    );
    expect(rows.length, `openAccount must INSERT one row into accounts with id ${id}`).toBe(1);
    expect(rows[0], "the accounts row must hold the owner and the initial balance in cents").toEqual({
      owner: "Ada Lovelace",
      balance_cents: "12345",
    });

    expect(
      await bank.balance(id),
      "balance() must return the stored balance as a number: pg returns bigint columns as strings, convert with Number()",
    ).toBe(12_345);

    const empty = uid("open-empty");
    await bank.openAccount(empty, "Grace Hopper", 0);
    expect(await bank.balance(empty), "an account may be opened with a zero balance").toBe(0);
  });

  it("openAccount refuses a duplicate id and leaves the existing account alone", async () => {
    const [id] = await createAccounts([500]);
    const error = await rejection(bank.openAccount(id!, "Mallory", 1_000_000));
    expect(
      messageOf(error),
      "opening an account whose id exists must fail with a message containing 'already exists' (catch the unique violation, code 23505)",
    ).toMatch(/already exists/i);
    expect(await storedBalances([id!]), "the existing account's balance must not change").toEqual([500]);
  });

  it("openAccount refuses an initial balance that is not a whole number of cents >= 0, writing nothing", async () => {
    for (const initial of [-1, 10.5, Number.NaN]) {
      const id = uid("open-bad");
      const error = await rejection(bank.openAccount(id, "Eve", initial));
      expect(
        messageOf(error),
        `openAccount with initialCents = ${initial} must fail with a message containing 'invalid amount'`,
      ).toMatch(/invalid amount/i);
      expect(
        await storedBalances([id]),
        `no account row may be written for initialCents = ${initial}`,
      ).toEqual([null]);
    }
  });

  it("balance() of an unknown account rejects with 'account not found'", async () => {
    const error = await rejection(bank.balance(uid("missing")));
    expect(
      messageOf(error),
      "an unknown account has no balance: throw an error containing 'account not found' instead of returning 0 or undefined",
    ).toMatch(/account not found/i);
  });
});

task(2, "Transfer money in one transaction", () => {
  it("a transfer moves the money and records exactly one transfers row", async () => {
    const [from, to] = await createAccounts([1_000, 250]);
    const id = uid("t");
    const result = await bank.transfer(id, from!, to!, 400);
    expect(
      result,
      "transfer must return { id, fromId, toId, amountCents, replayed: false } for a new transfer",
    ).toEqual({
      id,
      fromId: from,
      toId: to,
      amountCents: 400,
      replayed: false,
    });
    expect(
      await storedBalances([from!, to!]),
      "400 cents must leave the source and arrive at the destination",
    ).toEqual([600, 650]);
    expect(
      await transferRows({ ids: [id] }),
      "the transfer must be recorded as one row in transfers (id, from_id, to_id, amount_cents)",
    ).toEqual([{ id, from_id: from, to_id: to, amount_cents: 400 }]);
  });

  it("insufficient funds: rejected with nothing written, while moving the whole balance works", async () => {
    const [from, to] = await createAccounts([300, 0]);
    const refused = uid("t");
    const error = await rejection(bank.transfer(refused, from!, to!, 301));
    expect(
      messageOf(error),
      "a transfer larger than the balance must fail with a message containing 'insufficient funds'",
    ).toMatch(/insufficient funds/i);
    expect(await storedBalances([from!, to!]), "a refused transfer must not change any balance").toEqual([
      300, 0,
    ]);
    expect(
      await transferRows({ ids: [refused] }),
      "a refused transfer must not leave a transfers row behind (roll the transaction back)",
    ).toEqual([]);

    await bank.transfer(uid("t"), from!, to!, 300);
    expect(
      await storedBalances([from!, to!]),
      "a transfer of exactly the balance is allowed and leaves 0",
    ).toEqual([0, 300]);
  });

  it("an unknown account on either side: rejected with 'account not found', nothing written", async () => {
    const [known] = await createAccounts([1_000]);
    const missing = uid("missing");
    for (const [from, to] of [
      [missing, known!],
      [known!, missing],
    ] as const) {
      const id = uid("t");
      const error = await rejection(bank.transfer(id, from, to, 100));
      expect(
        messageOf(error),
        `transfer ${from} -> ${to} names an account that does not exist: fail with a message containing 'account not found'`,
      ).toMatch(/account not found/i);
      expect(
        await transferRows({ ids: [id] }),
        "a transfer to or from an unknown account must not be recorded",
      ).toEqual([]);
    }
    expect(await storedBalances([known!]), "the existing account must keep its balance").toEqual([1_000]);
    expect(await storedBalances([missing]), "a transfer must never create an account").toEqual([null]);
  });

  // The grader makes one step of a transfer fail with a trigger, wherever the learner runs that step.
  const faults = [
    { step: "debiting the source", owners: ["grader: fail on debit", "grader"], prefix: "t" },
    { step: "crediting the destination", owners: ["grader", "grader: fail on credit"], prefix: "t" },
    { step: "recording the transfers row", owners: ["grader", "grader"], prefix: "fail-on-record" },
  ];

  beforeAll(async () => {
    await postgres().query(`
      CREATE OR REPLACE FUNCTION grader_injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'injected failure (grader): % failed', TG_ARGV[0];
      END $$;
      DROP TRIGGER IF EXISTS grader_fail_debit ON accounts;
      CREATE TRIGGER grader_fail_debit BEFORE UPDATE ON accounts FOR EACH ROW
        WHEN (NEW.owner = 'grader: fail on debit' AND NEW.balance_cents < OLD.balance_cents)
        EXECUTE FUNCTION grader_injected_failure('debit');
      DROP TRIGGER IF EXISTS grader_fail_credit ON accounts;
      CREATE TRIGGER grader_fail_credit BEFORE UPDATE ON accounts FOR EACH ROW
        WHEN (NEW.owner = 'grader: fail on credit' AND NEW.balance_cents > OLD.balance_cents)
        EXECUTE FUNCTION grader_injected_failure('credit');
      DROP TRIGGER IF EXISTS grader_fail_record ON transfers;
      CREATE TRIGGER grader_fail_record BEFORE INSERT ON transfers FOR EACH ROW
        WHEN (NEW.id LIKE 'fail-on-record-%')
        EXECUTE FUNCTION grader_injected_failure('recording the transfer');
    `);
  });

  afterAll(async () => {
    await postgres().query(`
      DROP TRIGGER IF EXISTS grader_fail_debit ON accounts;
      DROP TRIGGER IF EXISTS grader_fail_credit ON accounts;
      DROP TRIGGER IF EXISTS grader_fail_record ON transfers;
      DROP FUNCTION IF EXISTS grader_injected_failure();
    `);
  });

  it.each(faults)("a failure while $step leaves no partial write", async ({ step, owners, prefix }) => {
    const [from] = await createAccounts([1_000], owners[0]);
    const [to] = await createAccounts([50], owners[1]);
    const id = uid(prefix);
    const error = await rejection(bank.transfer(id, from!, to!, 200));
    expect(
      messageOf(error),
      `the grader made ${step} fail (a trigger raises 'injected failure ...'): transfer must reject with the database's error message, not swallow or replace it`,
    ).toMatch(/injected failure/i);
    expect(
      await storedBalances([from!, to!]),
      `${step} failed, so the transfer must leave no trace: run every statement on ONE client between BEGIN and COMMIT, and ROLLBACK on any error`,
    ).toEqual([1_000, 50]);
    expect(await transferRows({ ids: [id] }), `${step} failed, so no transfers row may remain`).toEqual([]);
  });
});

task(3, "Reject bad input before touching the database", () => {
  it("amounts that are not a positive whole number of cents are rejected, nothing written", async () => {
    const [from, to] = await createAccounts([10_000, 0]);
    const amounts: unknown[] = [0, -100, 12.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "100"];
    for (const amount of amounts) {
      const id = uid("t");
      const error = await rejection(bank.transfer(id, from!, to!, amount as number));
      expect(
        messageOf(error),
        `transfer with amountCents = ${typeof amount === "string" ? `"${amount}" (a string)` : String(amount)} must fail with a message containing 'invalid amount': money is a positive safe integer of cents`,
      ).toMatch(/invalid amount/i);
      expect(
        await transferRows({ ids: [id] }),
        `no transfers row may be written for amountCents = ${String(amount)}`,
      ).toEqual([]);
    }
    expect(await storedBalances([from!, to!]), "rejected amounts must not change any balance").toEqual([
      10_000, 0,
    ]);
  });

  it("a transfer to the same account, or without a transfer id, is rejected", async () => {
    const [account, other] = await createAccounts([1_000, 0]);
    const id = uid("t");
    const same = await rejection(bank.transfer(id, account!, account!, 100));
    expect(
      messageOf(same),
      "a transfer from an account to itself must fail with a message containing 'same account' (it would only hide bugs)",
    ).toMatch(/same account/i);
    expect(await transferRows({ ids: [id] }), "a self-transfer must not be recorded").toEqual([]);

    const noId = await rejection(bank.transfer("", account!, other!, 100));
    expect(
      messageOf(noId),
      "an empty transferId must fail with a message containing 'transfer id': without it a retry cannot be recognised",
    ).toMatch(/transfer id/i);
    expect(
      await storedBalances([account!, other!]),
      "rejected transfers must not change any balance",
    ).toEqual([1_000, 0]);
  });
});
