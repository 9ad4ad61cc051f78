// Runs the learner's contract checks against implementations of the inventory API: two correct ones, which
// the checks must pass, and hidden buggy variants (fixtures/variants), each of which they must flag.
import { join } from "node:path";
import { expect, it } from "vitest";
import { hiddenImplementations, learner, task } from "@backend-labs/graders";

interface CheckOutcome {
  caught: boolean;
  message: string;
}

interface ChecksRunner {
  runChecksAgainst(source: string): CheckOutcome;
}

const runner = learner().module<ChecksRunner>();
const { source: implementation, variant } = hiddenImplementations(join(import.meta.dirname, ".."));

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

/** One hidden buggy variant: the test's name, the variant's file, what it does wrong, and the check it needs. */
interface Bug {
  test: string;
  variant: string;
  bug: string;
  missing: string;
}

function catches(bugs: Bug[]): void {
  for (const { test, variant: name, bug, missing } of bugs) {
    it(test, async () => {
      await expectCaught(name, bug, missing);
    });
  }
}

task(2, "Check status codes and validation", () => {
  catches([
    {
      test: "catches 200 instead of 201 Created",
      variant: "created-returns-200",
      bug: "answers a successful POST /products with 200 and no Location header",
      missing: "Assert the exact status of a creation (not just response.ok) and its Location header.",
    },
    {
      test: "catches a new product answered without its Location header",
      variant: "product-location-missing",
      bug: "answers a new product with 201 but without the Location header that points at it",
      missing: "Check the Location header of a created product: /products/<sku>.",
    },
    {
      test: "catches a new order answered 200 instead of 201 Created",
      variant: "order-created-200",
      bug: "answers a new order (POST /orders) with 200 instead of 201 Created",
      missing: "Assert the exact status of every creation, orders as well as products, not just response.ok.",
    },
    {
      test: "catches a new order answered without its Location header",
      variant: "order-location-missing",
      bug: "answers a new order with 201 but without the Location header that points at it",
      missing: "Check the Location header of a created order: /orders/<id>, with the id from its body.",
    },
    {
      test: "catches 200 with a null body for a product that does not exist",
      variant: "unknown-product-200-null",
      bug: "answers GET of an unknown sku with 200 and a null body",
      missing: "Check the unhappy paths too: a GET of something that does not exist.",
    },
    {
      test: "catches an order for an unknown sku answered 409 instead of 404",
      variant: "unknown-sku-order-409",
      bug: "answers an order for a sku that does not exist with 409 instead of 404",
      missing: "Order a sku that was never created, and assert the status the contract gives it.",
    },
    {
      test: "catches a duplicate sku that ends in 500",
      variant: "duplicate-sku-500",
      bug: "lets a duplicate sku reach the client as 500 Internal Server Error",
      missing: "Create the same sku twice and assert the status the contract gives a conflict.",
    },
    {
      test: "catches an order for more than the stock answered 400 instead of 409",
      variant: "out-of-stock-400",
      bug: "refuses an order for more than the stock with 400 instead of 409",
      missing:
        "Assert the exact status of a refused order, not only that it failed: too little stock is a " +
        "conflict, not a malformed request.",
    },
    {
      test: "catches order quantities that are never validated",
      variant: "order-quantity-not-validated",
      bug: "only checks that an order's quantity is present, so bad quantities are ordered or end in 500",
      missing:
        "Send each kind of invalid quantity (zero, negative, fractional, a string, above the maximum) and " +
        "assert 400.",
    },
    {
      test: "catches an order quantity sent as a string that is accepted",
      variant: "order-quantity-coerced",
      bug: 'accepts an order whose quantity is a JSON string such as "2"',
      missing:
        "Numbers out of range are not enough: send a quantity of the wrong type (a string) and assert " +
        "400, with nothing stored.",
    },
    {
      test: "catches a product price or stock sent as a string that is accepted",
      variant: "product-price-coerced",
      bug: 'stores a product whose priceCents or stock is a JSON string such as "12" (or null)',
      missing:
        "Validate POST /products too: for each field, send a value just outside its rule and a value of " +
        "the wrong type, and assert 400 with nothing stored.",
    },
    {
      test: "catches a body that is not JSON answered 500",
      variant: "malformed-json-500",
      bug: "lets a body that is not JSON reach JSON.parse unguarded, so it ends in 500 instead of 400",
      missing:
        "Send a body that is not JSON (a truncated object, say) and assert 400, not only bodies that parse.",
    },
    {
      test: "catches a body of null answered 500",
      variant: "null-body-500",
      bug: 'forgets that typeof null is "object", so a JSON body of null ends in 500 instead of 400',
      missing: "Send a JSON value that is not an object, such as null, and assert 400.",
    },
    {
      test: "catches a product without a sku answered 500",
      variant: "sku-type-not-checked",
      bug: "checks the format of sku only when it is a string, so a product without a sku ends in 500",
      missing: "Leave a required field out of a product, and assert 400.",
    },
    {
      test: "catches a lower-case sku that is accepted",
      variant: "sku-pattern-ignores-case",
      bug: 'accepts a lower-case sku such as "mug-2"',
      missing:
        "Try a sku with characters outside A-Z, 0-9 and -, such as lower-case letters, and assert 400.",
    },
    {
      test: "catches a sku of 33 characters that is accepted",
      variant: "sku-pattern-unanchored",
      bug: "accepts a sku longer than 32 characters",
      missing: "Try a sku one character longer than the contract allows, and assert 400.",
    },
    {
      test: "catches a blank product name that is accepted",
      variant: "name-blank-accepted",
      bug: "refuses only an empty name, so a name of spaces is stored",
      missing: "A blank name is not only an empty one: send a name of spaces and assert 400.",
    },
    {
      test: "catches a product name of 101 characters that is accepted",
      variant: "name-length-not-checked",
      bug: "never checks the length of a product's name",
      missing: "Try a name one character longer than the contract allows, and assert 400.",
    },
    {
      test: "catches a negative price answered 500",
      variant: "price-negative-500",
      bug: "leaves the minimum price to the database, so a negative priceCents ends in 500",
      missing: "Try a priceCents just below its range (-1), and assert 400.",
    },
    {
      test: "catches a fractional price answered 500",
      variant: "price-fraction-500",
      bug: "does not check that priceCents is a whole number, so 12.5 ends in 500",
      missing: "Try a priceCents that is not a whole number, and assert 400.",
    },
    {
      test: "catches a price sent as a string of digits that is accepted",
      variant: "price-digit-string-accepted",
      bug: 'accepts a priceCents sent as a string of digits such as "1200"',
      missing: 'Send a priceCents of the wrong type (a string of digits such as "1200") and assert 400.',
    },
    {
      test: "catches a negative stock answered 500",
      variant: "stock-negative-500",
      bug: "leaves the minimum stock to the database, so a negative stock ends in 500",
      missing: "Try a stock just below its range (-1), and assert 400.",
    },
    {
      test: "catches a stock above the maximum that is accepted",
      variant: "stock-max-not-checked",
      bug: "never checks the maximum stock, so 1000001 is stored",
      missing: "Try a stock just above its range (1000001), and assert 400.",
    },
    {
      test: "catches an order of quantity 0 answered 500",
      variant: "quantity-zero-500",
      bug: "lets quantity start at 0, so an order of 0 ends in 500",
      missing: "Try a quantity just below its range (0), and assert 400.",
    },
    {
      test: "catches a negative quantity answered 500",
      variant: "quantity-truthy-check",
      bug: "tests quantity for truthiness instead of a minimum of 1, so an order of -1 ends in 500",
      missing: "Try a negative quantity as well as 0, and assert 400.",
    },
    {
      test: "catches a fractional quantity answered 500",
      variant: "quantity-fraction-500",
      bug: "does not check that quantity is a whole number, so an order of 1.5 ends in 500",
      missing: "Try a quantity that is not a whole number, and assert 400.",
    },
    {
      test: "catches an order above the maximum quantity that is not refused with 400",
      variant: "quantity-max-not-checked",
      bug: "never checks the maximum quantity, so an order of 1001 is answered by the stock check instead of 400",
      missing: "Try a quantity just above its range (1001), and assert 400.",
    },
    {
      test: "catches an order without a sku answered 404",
      variant: "order-sku-not-validated",
      bug: "does not validate an order's sku, so an order without one gets 404 instead of 400",
      missing: "Leave the sku out of an order, and assert 400.",
    },
    {
      test: "catches an order id sent as a string",
      variant: "order-id-as-string",
      bug: "sends an order's id as a string (the way the bigint column comes back) instead of a number",
      missing: "Check the type of an order's id: the contract says it is a number.",
    },
    {
      test: "catches a product sent back with price_cents instead of priceCents",
      variant: "get-product-snake-case",
      bug: "answers GET /products/<sku> with the database row as it is, price_cents instead of priceCents",
      missing: "Compare the fields of the product a GET returns with the product you created.",
    },
    {
      test: "catches a product name of exactly 100 characters that is refused",
      variant: "name-length-off-by-one",
      bug: "refuses a name of exactly 100 characters, which the contract allows",
      missing: "Try the values right at the limits of each rule too (a 100-character name), and assert 201.",
    },
    {
      test: "catches an order without an Idempotency-Key that is placed",
      variant: "idempotency-key-optional",
      bug: "places an order sent without an Idempotency-Key instead of refusing it with 400",
      missing: "Send an order without the Idempotency-Key header and assert 400.",
    },
  ]);
});

task(3, "Check idempotent orders and what they store", () => {
  catches([
    {
      test: "catches a retry that is refused instead of replayed",
      variant: "replay-rejected-as-duplicate",
      bug: "answers a retry of a successful order (same Idempotency-Key, same body) with an error",
      missing:
        "Send the same order twice with one Idempotency-Key, as a client retrying after a timeout does, " +
        "and assert the second answer is the first one again.",
    },
    {
      test: "catches a retry of the order that took the last units refused as out of stock",
      variant: "replay-after-sellout-409",
      bug: "answers a retry of an order that took the last units with 409 instead of the original 201",
      missing:
        "Retry an order that emptied the stock, too: a retry is the order already placed, not a new " +
        "one that needs stock.",
    },
    {
      test: "catches a retry answered without the Idempotency-Replayed header",
      variant: "replay-without-header",
      bug: "answers a retry with the original status and body but without Idempotency-Replayed: true",
      missing: "On a retry, check the header the contract adds to the original answer as well as the body.",
    },
    {
      test: "catches an Idempotency-Key reused for a different order",
      variant: "key-reuse-returns-other-order",
      bug:
        "answers a request that reuses an Idempotency-Key with a different quantity or sku by replaying " +
        "the old order",
      missing:
        "Reuse a key with a different body and assert the status the contract gives, and that no stock " +
        "moved.",
    },
    {
      test: "catches an Idempotency-Key reused for another sku",
      variant: "key-reuse-ignores-sku",
      bug: "replays the old order when its Idempotency-Key comes back with another sku and the same quantity",
      missing:
        "Reuse a key with a different sku as well as with a different quantity, and assert 422 both times.",
    },
    {
      test: "catches an Idempotency-Key reused for another quantity",
      variant: "key-reuse-ignores-quantity",
      bug: "replays the old order when its Idempotency-Key comes back with the same sku and another quantity",
      missing:
        "Reuse a key with a different quantity as well as with a different sku, and assert 422 both times.",
    },
    {
      test: "catches a refused order that still leaves a row behind",
      variant: "refused-order-leaves-row",
      bug: "answers an order for more than the stock with 409 but leaves its row in the orders table",
      missing:
        "The response can be right while the data is wrong: after refused requests, query the orders " +
        "table (and the stock) through the pool you are given.",
    },
    {
      test: "catches a retry that takes the stock again",
      variant: "replay-takes-stock-again",
      bug: "answers a retry with the original order but takes its quantity from the stock again",
      missing:
        "After a retry, read the product's stock and the orders rows: a right answer does not prove that " +
        "nothing moved.",
    },
    {
      test: "catches a wrong total stored in the orders table",
      variant: "stored-total-unit-price",
      bug: "answers with the right totalCents but stores a different total_cents in the orders row",
      missing:
        "Compare the stored orders row (idempotency_key, sku, quantity, total_cents) with what was " +
        "ordered, not only the response or the number of rows.",
    },
    {
      test: "catches a refused duplicate sku that still overwrites the product",
      variant: "duplicate-overwrites-product",
      bug: "answers a duplicate sku with 409 but overwrites the existing product's name, price and stock",
      missing:
        "After a refused duplicate, read the existing product's row: 409 is right, but the row must be " +
        "unchanged.",
    },
  ]);
});

task(4, "Check pagination", () => {
  catches([
    {
      test: "catches pages that overlap",
      variant: "page-overlap",
      bug: "repeats the last product of each page at the top of the next",
      missing:
        "Follow nextCursor through every page with a small limit and assert every product shows up " +
        "exactly once.",
    },
    {
      test: "catches pages that repeat most of the page before",
      variant: "cursor-from-first-item",
      bug: "gives each page a nextCursor that makes the next page repeat all but one of its products",
      missing:
        "Walk the pages with a limit above 1 and compare the items you collected, repeats included, with " +
        "the products that exist: a Set hides repeats.",
    },
    {
      test: "catches products listed in natural order instead of byte order",
      variant: "natural-sort-order",
      bug: "lists the products in a consistent but human order (A-2 before A-10) instead of byte order",
      missing:
        "Compare the skus in the order the pages gave them with the same skus sorted by JavaScript's " +
        "sort(), using skus whose orders differ (numbers of different lengths).",
    },
    {
      test: "catches shorter skus listed before longer ones",
      variant: "shortest-sku-first",
      bug: "lists shorter skus before longer ones instead of in byte order",
      missing:
        "Compare the skus in the order the pages gave them with the same skus sorted by JavaScript's " +
        "sort(), using skus of different lengths.",
    },
    {
      test: "catches a nextCursor on a last page that is exactly full",
      variant: "last-page-has-cursor",
      bug: "sends clients on to an empty page when the products fill the last page exactly",
      missing:
        "Page through a number of products that is a multiple of the limit: the last full page must have " +
        "nextCursor null, and no page may be empty.",
    },
    {
      test: "catches a nextCursor on every last page once there is more than one page",
      variant: "has-more-from-total-count",
      bug: "sends clients on to an empty page after the last one whenever the products fill more than one page",
      missing:
        "Follow nextCursor to its end with totals the limit divides and totals it does not, and assert " +
        "that no page is empty.",
    },
    {
      test: "catches pages that hold more products than the limit",
      variant: "page-exceeds-limit",
      bug: "puts limit + 1 products on every page but the last",
      missing: "Assert that no page holds more than the limit you asked for.",
    },
    {
      test: "catches a cursor that leads back to the first page",
      variant: "after-param-ignored",
      bug: "ignores the after parameter, so following nextCursor returns the first page again and again",
      missing:
        "Bound your walk through the pages (no more pages than products) and fail when it does not end, " +
        "rather than following nextCursor forever.",
    },
    {
      test: "catches limit=0 answered 500",
      variant: "limit-zero-accepted",
      bug: "lets limit start at 0, so limit=0 ends in 500 instead of 400",
      missing: "Try a limit just below its range (0), and assert 400.",
    },
    {
      test: "catches a limit above 100 that is not refused",
      variant: "limit-clamped",
      bug: "quietly lowers a limit above 100 to 100 instead of refusing it with 400",
      missing: "Try a limit just above its range (101), and assert 400.",
    },
    {
      test: "catches a limit that is not a whole number and is not refused",
      variant: "limit-parsed-with-parseInt",
      bug: "reads limit with parseInt, so limit=2.5 is taken as 2 instead of refused with 400",
      missing: "Try a limit that is not a whole number (2.5), and assert 400.",
    },
    {
      test: "catches a listing without a limit that fails",
      variant: "limit-default-missing",
      bug: "has no default limit, so GET /products without one ends in 500",
      missing: "List the products without a limit too: it defaults to 20.",
    },
  ]);
});

const lineUp =
  "To make the race certain instead of likely, hold the product row locked from your pool (BEGIN; " +
  "SELECT ... FOR UPDATE) while the requests start, and commit once pg_stat_activity shows them waiting.";

task(5, "Check concurrent orders", () => {
  catches([
    {
      test: "catches stock oversold by orders that arrive together",
      variant: "oversell-without-row-lock",
      bug:
        "reads the stock without locking the row and writes back a value computed in JavaScript, so " +
        "orders arriving together oversell it",
      missing:
        "Send more orders than the stock at the same time (Promise.all) and count the 201s, the stock " +
        `left and the orders rows. ${lineUp}`,
    },
    {
      test: "catches stock oversold by orders that lock the row too late",
      variant: "oversell-stale-stock-read",
      bug:
        "locks the product row but decides with the stock it read before the lock, so orders arriving " +
        "together oversell it",
      missing:
        "Send more orders than the stock at the same time and count the 201s, the stock left and the " +
        `orders rows. ${lineUp}`,
    },
    {
      test: "catches a retry sent while the order is in flight answered 422",
      variant: "in-flight-retry-422",
      bug:
        "answers a retry that arrives while the original order is still in flight with 422 instead of " +
        "the original 201",
      missing:
        "Send one order twice at the same time with one Idempotency-Key, as a client that timed out " +
        "does, and assert two 201s with the same order, one orders row and the stock taken once. " +
        lineUp,
    },
    {
      test: "catches a retry sent while the order is in flight failing with 500",
      variant: "in-flight-retry-500",
      bug: "fails a retry that arrives while the original order is still in flight with 500",
      missing:
        "Send one order twice at the same time with one Idempotency-Key and assert two 201s with the " +
        `same order, one orders row and the stock taken once. ${lineUp}`,
    },
  ]);
});
