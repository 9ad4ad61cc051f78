import { afterAll, beforeAll, expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  bank,
  createAccounts,
  lockWaiters,
  messageOf,
  rejection,
  showBalances,
  storedBalances,
  succeeds,
  transferRows,
  uid,
  waitFor,
} from "./helpers.ts";

task(1, "Open accounts and read balances", () => {
  it("openAccount stores the row and balance() reads it back as a number", async () => {
    const id = uid("open");
    const account = await succeeds(
      bank.openAccount(id, "Ada Lovelace", 12_345),
      `openAccount("${id}", "Ada Lovelace", 12345) must open the account`,
    );
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
      await succeeds(bank.balance(id), `balance("${id}") must read the account just opened`),
      "balance() must return the stored balance as a number: pg returns bigint columns as strings, convert with Number()",
    ).toBe(12_345);

    const empty = uid("open-empty");
    await succeeds(
      bank.openAccount(empty, "Grace Hopper", 0),
      "an account may be opened with a zero balance: openAccount(id, owner, 0) must succeed",
    );
    expect(
      await succeeds(bank.balance(empty), `balance("${empty}") must read the account just opened`),
      "an account opened with 0 has the balance 0",
    ).toBe(0);
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

  it("openAccount racing another insert of the same id answers 'already exists', not a duplicate-key error", async () => {
    // The grader inserts the account in a transaction it keeps open, so the learner's insert must wait for it.
    const id = uid("open-race");
    const client = await postgres().connect();
    let error: Error | undefined;
    try {
      await client.query("BEGIN");
      await client.query("INSERT INTO accounts (id, owner, balance_cents) VALUES ($1, 'grader', 500)", [id]);
      let settled = false;
      const call = rejection(bank.openAccount(id, "Mallory", 1_000_000)).finally(() => {
        settled = true;
      });
      await waitFor(async () => settled || (await lockWaiters()) > 0, 5_000);
      await client.query("COMMIT");
      error = await call;
    } finally {
      await client.query("ROLLBACK").catch(() => undefined);
      client.release();
    }
    expect(
      messageOf(error),
      "openAccount ran while another transaction was inserting the same id: it must fail with 'already exists' too. " +
        "A SELECT that checks for the id first cannot see a row that is not committed yet; insert, and turn the " +
        "unique violation (code 23505) into 'already exists'",
    ).toMatch(/already exists/i);
    expect(
      await storedBalances([id]),
      "the account the other transaction opened must keep its balance",
    ).toEqual([500]);
  });

  it("openAccount refuses an initial balance that is not a whole number of cents >= 0, writing nothing", async () => {
    const initials: unknown[] = [-1, 10.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "100"];
    for (const initial of initials) {
      const id = uid("open-bad");
      const shown = typeof initial === "string" ? `"${initial}" (a string)` : String(initial);
      const error = await rejection(bank.openAccount(id, "Eve", initial as number));
      expect(
        messageOf(error),
        `openAccount with initialCents = ${shown} must fail with a message containing 'invalid amount': ` +
          "a balance is a safe integer of cents >= 0 (Number.isSafeInteger rejects fractions, NaN, Infinity, 2 ** 53 and strings)",
      ).toMatch(/invalid amount/i);
      expect(await storedBalances([id]), `no account row may be written for initialCents = ${shown}`).toEqual(
        [null],
      );
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
    // The destination's id sorts first, and its balance alone could not pay: code that confuses the two
    // rows (it reads them in id order) refuses this transfer.
    const stem = uid("acct");
    const [from, to] = await createAccounts([1_000, 250], "grader", [`${stem}-2`, `${stem}-1`]);
    const id = uid("t");
    const result = await succeeds(
      bank.transfer(id, from!, to!, 400),
      "a transfer of 400 from an account holding 1000 must succeed",
    );
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
      showBalances(await storedBalances([from!, to!])),
      "400 cents must leave the source and arrive at the destination",
    ).toBe(showBalances([600, 650]));
    expect(
      await transferRows({ ids: [id] }),
      "the transfer must be recorded as one row in transfers (id, from_id, to_id, amount_cents)",
    ).toEqual([{ id, from_id: from, to_id: to, amount_cents: 400 }]);
  });

  it("insufficient funds: rejected with nothing written, while moving the whole balance works", async () => {
    const stem = uid("acct");
    const [from, to] = await createAccounts([300, 0], "grader", [`${stem}-2`, `${stem}-1`]);
    const refused = uid("t");
    const error = await rejection(bank.transfer(refused, from!, to!, 301));
    expect(
      messageOf(error),
      "a transfer larger than the balance must fail with a message containing 'insufficient funds'",
    ).toMatch(/insufficient funds/i);
    expect(
      showBalances(await storedBalances([from!, to!])),
      "a refused transfer must not change any balance",
    ).toBe(showBalances([300, 0]));
    expect(
      await transferRows({ ids: [refused] }),
      "a refused transfer must not leave a transfers row behind (roll the transaction back)",
    ).toEqual([]);

    await succeeds(
      bank.transfer(uid("t"), from!, to!, 300),
      "a transfer of exactly the balance (300 of 300) is allowed: only an amount above the balance is refused",
    );
    expect(
      showBalances(await storedBalances([from!, to!])),
      "a transfer of exactly the balance leaves 0 in the source",
    ).toBe(showBalances([0, 300]));
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
    { step: "committing", owners: ["grader", "grader"], prefix: "fail-on-commit" },
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
      DROP TRIGGER IF EXISTS grader_fail_commit ON transfers;
      CREATE CONSTRAINT TRIGGER grader_fail_commit AFTER INSERT ON transfers
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (NEW.id LIKE 'fail-on-commit-%')
        EXECUTE FUNCTION grader_injected_failure('commit');
    `);
  });

  afterAll(async () => {
    await postgres().query(`
      DROP TRIGGER IF EXISTS grader_fail_debit ON accounts;
      DROP TRIGGER IF EXISTS grader_fail_credit ON accounts;
      DROP TRIGGER IF EXISTS grader_fail_record ON transfers;
      DROP TRIGGER IF EXISTS grader_fail_commit ON transfers;
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
      showBalances(await storedBalances([from!, to!])),
      `${step} failed, so the transfer must leave no trace: run every statement on ONE client between BEGIN and COMMIT, and ROLLBACK on any error`,
    ).toBe(showBalances([1_000, 50]));
    expect(await transferRows({ ids: [id] }), `${step} failed, so no transfers row may remain`).toEqual([]);
  });
});

/**
 * Runs one call while the grader holds ACCESS EXCLUSIVE locks on both tables, so any statement on them
 * waits. Returns the call's error, and whether it ran SQL on the tables before answering (it waited).
 */
async function withTablesLocked(call: () => Promise<unknown>): Promise<{ error?: Error; touched: boolean }> {
  const client = await postgres().connect();
  try {
    await client.query("BEGIN");
    await client.query("LOCK TABLE accounts, transfers IN ACCESS EXCLUSIVE MODE");
    let settled = false;
    const outcome = rejection(call()).finally(() => {
      settled = true;
    });
    let touched = false;
    await waitFor(async () => {
      touched = (await lockWaiters()) > 0;
      return settled || touched;
    }, 5_000);
    await client.query("ROLLBACK");
    return { error: await outcome, touched };
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}

const showAmount = (amount: unknown) =>
  typeof amount === "string" ? `"${amount}" (a string)` : String(amount);

const validateFirst =
  "ran SQL on accounts or transfers before refusing its input (the grader held a lock on both tables, and the call " +
  "waited for it). Check the amount, the two account ids and the transfer id first, and only then touch the database";

task(3, "Reject bad input before touching the database", () => {
  it("amounts that are not a positive whole number of cents are rejected before any SQL, nothing written", async () => {
    const [from, to] = await createAccounts([10_000, 0]);
    const amounts: unknown[] = [0, -100, 12.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "100"];
    for (const amount of amounts) {
      const id = uid("t");
      const { error, touched } = await withTablesLocked(() =>
        bank.transfer(id, from!, to!, amount as number),
      );
      expect(touched, `transfer with amountCents = ${showAmount(amount)} ${validateFirst}`).toBe(false);
      expect(
        messageOf(error),
        `transfer with amountCents = ${showAmount(amount)} must fail with a message containing 'invalid amount': money is a positive safe integer of cents`,
      ).toMatch(/invalid amount/i);
      expect(
        await transferRows({ ids: [id] }),
        `no transfers row may be written for amountCents = ${showAmount(amount)}`,
      ).toEqual([]);
    }
    expect(
      showBalances(await storedBalances([from!, to!])),
      "rejected amounts must not change any balance",
    ).toBe(showBalances([10_000, 0]));

    const largest = await rejection(bank.transfer(uid("t"), from!, to!, Number.MAX_SAFE_INTEGER));
    expect(
      messageOf(largest),
      `2 ** 53 - 1 (${Number.MAX_SAFE_INTEGER}) is the largest safe integer, a valid amount: from an account holding ` +
        "10000 it must be refused with 'insufficient funds', not 'invalid amount'",
    ).toMatch(/insufficient funds/i);
  });

  it("a transfer to the same account, or without a transfer id, is rejected before any SQL", async () => {
    const [account, other] = await createAccounts([1_000, 0]);
    const id = uid("t");
    const same = await withTablesLocked(() => bank.transfer(id, account!, account!, 100));
    expect(same.touched, `a transfer from an account to itself ${validateFirst}`).toBe(false);
    expect(
      messageOf(same.error),
      "a transfer from an account to itself must fail with a message containing 'same account' (it would only hide bugs)",
    ).toMatch(/same account/i);
    expect(await transferRows({ ids: [id] }), "a self-transfer must not be recorded").toEqual([]);

    const noId = await withTablesLocked(() => bank.transfer("", account!, other!, 100));
    expect(noId.touched, `a transfer with an empty transferId ${validateFirst}`).toBe(false);
    expect(
      messageOf(noId.error),
      "an empty transferId must fail with a message containing 'transfer id': without it a retry cannot be recognised",
    ).toMatch(/transfer id/i);
    expect(
      showBalances(await storedBalances([account!, other!])),
      "rejected transfers must not change any balance",
    ).toBe(showBalances([1_000, 0]));
  });
});
