// Runs the learner's contract checks against implementations of the inventory API: two correct ones, which
// the checks must pass, and hidden buggy variants (fixtures/variants), each of which they must flag.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { learner, task } from "@backend-labs/graders";

interface CheckOutcome {
  caught: boolean;
  message: string;
}

interface ChecksRunner {
  runChecksAgainst(source: string): CheckOutcome;
}

const runner = learner().module<ChecksRunner>();
const labDir = join(import.meta.dirname, "..");

/** An implementation's source without comment lines: a variant's note about its bug stays on this side. */
function implementation(path: string): string {
  return readFileSync(join(labDir, path), "utf8")
    .split("\n")
    .filter((line) => !/^\s*(\/\/|\/\*\*.*\*\/\s*$)/.test(line))
    .join("\n");
}

const variant = (name: string): string => implementation(`fixtures/variants/${name}.ts`);

/** Runs the checks against a buggy variant, which they must flag; `missing` names the case that would. */
async function expectCaught(name: string, bug: string, missing: string): Promise<void> {
  const outcome = await runner.runChecksAgainst(variant(name));
  expect(
    outcome.caught ? "caught" : "not caught",
    `your checks passed a hidden variant of the API that ${bug}. ${missing}`,
  ).toBe("caught");
}

task(1, "Pass correct implementations", () => {
  it("your checks pass on src/inventory.ts as shipped", async () => {
    const outcome = await runner.runChecksAgainst(implementation("starter/src/inventory.ts"));
    expect(
      outcome.caught ? `flagged: ${outcome.message}` : "passed",
      "your checks threw on the correct API, src/inventory.ts (their error is shown below). A check " +
        "that fails on correct code is a false alarm: work the expected status, body or row out again " +
        "from the README, and run `node src/run-checks.ts` against a local Postgres to see it fail",
    ).toBe("passed");
  });

  it("your checks pass on another correct implementation written differently", async () => {
    const outcome = await runner.runChecksAgainst(variant("correct-rewritten"));
    expect(
      outcome.caught ? `flagged: ${outcome.message}` : "passed",
      "your checks flagged a correct implementation whose responses carry extra fields, other error " +
        'wording and "Content-Type: application/json; charset=utf-8" (their error is shown below). ' +
        "Check the fields and headers the contract names, and ignore the rest (a tolerant reader), so a " +
        "compatible change does not break the checks",
    ).toBe("passed");
  });
});

task(2, "Check status codes and validation", () => {
  it("catches 200 instead of 201 Created", async () => {
    await expectCaught(
      "created-returns-200",
      "answers a successful POST /products with 200 and no Location header",
      "Assert the exact status of a creation (not just response.ok) and its Location header.",
    );
  });

  it("catches 200 with a null body for a product that does not exist", async () => {
    await expectCaught(
      "unknown-product-200-null",
      "answers GET of an unknown sku with 200 and a null body",
      "Check the unhappy paths too: a GET of something that does not exist.",
    );
  });

  it("catches a duplicate sku that ends in 500", async () => {
    await expectCaught(
      "duplicate-sku-500",
      "lets a duplicate sku reach the client as 500 Internal Server Error",
      "Create the same sku twice and assert the status the contract gives a conflict.",
    );
  });

  it("catches order quantities that are never validated", async () => {
    await expectCaught(
      "order-quantity-not-validated",
      "only checks that an order's quantity is present, so bad quantities are ordered or end in 500",
      "Send each kind of invalid quantity (zero, negative, fractional, a string, above the maximum) and " +
        "assert 400.",
    );
  });
});

task(3, "Check idempotent orders and what they store", () => {
  it("catches a retry that is refused instead of replayed", async () => {
    await expectCaught(
      "replay-rejected-as-duplicate",
      "answers a retry of a successful order (same Idempotency-Key, same body) with an error",
      "Send the same order twice with one Idempotency-Key, as a client retrying after a timeout does, and " +
        "assert the second answer is the first one again.",
    );
  });

  it("catches an Idempotency-Key reused for a different order", async () => {
    await expectCaught(
      "key-reuse-returns-other-order",
      "answers a request that reuses an Idempotency-Key with a different quantity or sku by replaying " +
        "the old order",
      "Reuse a key with a different body and assert the status the contract gives, and that no stock moved.",
    );
  });

  it("catches a refused order that still leaves a row behind", async () => {
    await expectCaught(
      "refused-order-leaves-row",
      "answers an order for more than the stock with 409 but leaves its row in the orders table",
      "The response can be right while the data is wrong: after refused requests, query the orders table " +
        "(and the stock) through the pool you are given.",
    );
  });
});

task(4, "Check pagination", () => {
  it("catches pages that overlap", async () => {
    await expectCaught(
      "page-overlap",
      "repeats the last product of each page at the top of the next",
      "Follow nextCursor through every page with a small limit and assert every product shows up " +
        "exactly once.",
    );
  });

  it("catches a nextCursor on a last page that is exactly full", async () => {
    await expectCaught(
      "last-page-has-cursor",
      "sends clients on to an empty page when the products fill the last page exactly",
      "Page through a number of products that is a multiple of the limit: the last full page must have " +
        "nextCursor null, and no page may be empty.",
    );
  });
});

task(5, "Check concurrent orders", () => {
  it("catches stock oversold by orders that arrive together", async () => {
    await expectCaught(
      "oversell-without-row-lock",
      "reads the stock without locking the row and writes back a value computed in JavaScript, so orders " +
        "arriving together oversell it",
      "Send more orders than the stock at the same time (Promise.all) and count the 201s, the stock " +
        "left and the orders rows. To make the race certain instead of likely, hold the product row " +
        "locked from your pool (BEGIN; SELECT ... FOR UPDATE) while the requests start, and commit " +
        "once they are waiting.",
    );
  });
});
