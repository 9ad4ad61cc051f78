// Runs the learner's checks against implementations of the pricing module: two correct ones, which the
// checks must pass, and hidden buggy variants (fixtures/variants), each of which they must flag.
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
    `your checks passed a hidden variant of pricing.ts that ${bug}. ${missing}`,
  ).toBe("caught");
}

task(1, "Pass correct implementations", () => {
  it("your checks pass on src/pricing.ts as shipped", async () => {
    const outcome = await runner.runChecksAgainst(implementation("starter/src/pricing.ts"));
    expect(
      outcome.caught ? `flagged: ${outcome.message}` : "passed",
      "your checks threw on the correct module, src/pricing.ts (their error is shown below). A check " +
        "that fails on correct code is a false alarm: work the expected value out again from the " +
        "README's rules, and run `node src/run-checks.ts` to see it fail locally",
    ).toBe("passed");
  });

  it("your checks pass on another correct implementation written differently", async () => {
    const outcome = await runner.runChecksAgainst(variant("correct-rewritten"));
    expect(
      outcome.caught ? `flagged: ${outcome.message}` : "passed",
      `your checks flagged a correct implementation that is structured differently and words its errors ` +
        "differently (their error is shown below). Check the contract (returned values, that a " +
        "RangeError is thrown), not the wording of src/pricing.ts's error messages or how it works inside",
    ).toBe("passed");
  });
});

task(2, "Check parsing and formatting amounts", () => {
  it("catches parseAmount doing the arithmetic in floating point", async () => {
    await expectCaught(
      "parse-float-math",
      "does parseAmount's arithmetic in floating point, so some everyday prices come out one minor " +
        "unit short",
      "Parse several everyday prices, not only one round-looking value: many decimal fractions have no " +
        "exact binary float, and text * 100 lands just below the integer.",
    );
  });

  it("catches amounts treated as two decimals in every currency", async () => {
    await expectCaught(
      "every-currency-has-cents",
      "assumes every currency has two decimals",
      "Parse and format amounts in a currency without a minor unit (JPY) and one with three decimals (KWD).",
    );
  });

  it("catches a minus sign lost on small negative amounts", async () => {
    await expectCaught(
      "negative-format-loses-sign",
      "drops the minus sign of a negative amount smaller than one unit (a refund of a few cents)",
      "Format negative amounts, including ones between -1.00 and 0: the boundary around zero is where " +
        "sign handling breaks.",
    );
  });
});

task(3, "Check cart pricing: discounts, tax and rounding", () => {
  it("catches tax truncated instead of rounded half up", async () => {
    await expectCaught(
      "tax-truncated",
      "truncates the tax instead of rounding it half up",
      "Check a tax whose exact value ends in exactly .5 (it must round up), and one just above or below.",
    );
  });

  it("catches tax charged on the subtotal before the coupon", async () => {
    await expectCaught(
      "tax-before-discount",
      "computes the tax on the subtotal before the coupon",
      "Check an order that has both a coupon and a tax rate, and assert the tax and the total, not only " +
        "the subtotal.",
    );
  });

  it("catches an amount coupon worth more than the cart", async () => {
    await expectCaught(
      "coupon-exceeds-subtotal",
      "lets an amount coupon discount more than the subtotal, so the goods cost less than nothing",
      "Check a coupon worth more than the cart: the discount is capped at the subtotal.",
    );
  });
});

task(4, "Check boundaries and invalid input", () => {
  it("catches free shipping decided with > instead of >=", async () => {
    await expectCaught(
      "free-shipping-strictly-above",
      "charges shipping on an order of exactly freeShippingFrom",
      "Test a threshold at the boundary itself and one minor unit below it, not only far on either side.",
    );
  });

  it("catches quantities that are never validated", async () => {
    await expectCaught(
      "quantity-not-validated",
      "prices lines with quantity 0, a negative quantity or a fractional one",
      "Check that quote() throws a RangeError for each kind of invalid quantity: a negative line would " +
        "take money off a real order.",
    );
  });

  it("catches parseAmount accepting text that is not a plain amount", async () => {
    await expectCaught(
      "parse-lenient",
      "validates text with Number() instead of the strict pattern, so it accepts several kinds of " +
        "malformed text",
      'One malformed input such as "abc" is not enough: check each kind the README lists (empty text, ' +
        "spaces, signs, exponents, separators, more decimals than the currency has).",
    );
  });
});
