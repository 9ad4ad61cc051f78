// Runs the learner's checks against implementations of the pricing module: two correct ones, which the
// checks must pass, and hidden buggy variants (fixtures/variants), each of which they must flag.
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

/**
 * One hidden buggy variant (fixtures/variants/<variant>.patch): what it gets wrong, told as behaviour, and the
 * kind of case that catches it. Each bug class the README names has more than one, so checks tuned to one
 * known bug do not pass.
 */
interface HiddenBug {
  test: string;
  variant: string;
  bug: string;
  missing: string;
}

function catches(bugs: HiddenBug[]): void {
  for (const { test, variant, bug, missing } of bugs) {
    it(test, async () => {
      await expectCaught(variant, bug, missing);
    });
  }
}

task(2, "Check parsing and formatting amounts", () => {
  catches([
    {
      test: "catches parseAmount doing the arithmetic in floating point",
      variant: "parse-float-math",
      bug:
        "does parseAmount's arithmetic in floating point, so some everyday prices come out one minor " +
        "unit short",
      missing:
        "Parse several everyday prices, not only one round-looking value: many decimal fractions have no " +
        "exact binary float, and text * 100 lands just below the integer.",
    },
    {
      test: "catches parseAmount misreading a fraction shorter than the currency's decimals",
      variant: "parse-short-fraction-unscaled",
      bug:
        "reads the digits after the point without scaling them to the currency's decimals, so an amount " +
        "written with fewer decimals than the currency has comes out wrong",
      missing:
        "The contract allows 1 up to the currency's number of decimals: parse amounts written with fewer " +
        "decimals than the currency has, in USD and in KWD.",
    },
    {
      test: "catches parseAmount losing precision on the largest amounts",
      variant: "parse-float-rounded",
      bug:
        "gets everyday prices right but converts through a floating-point number, so amounts close to " +
        "Number.MAX_SAFE_INTEGER minor units come out a few units off",
      missing:
        "Parse the largest amounts the contract allows (up to Number.MAX_SAFE_INTEGER minor units) in each " +
        "currency with decimals, and compare the exact integer.",
    },
    {
      test: "catches formatAmount losing precision on large amounts",
      variant: "format-float-division",
      bug: "formats through a floating-point division, so large amounts print the wrong last digits",
      missing: "Format amounts close to Number.MAX_SAFE_INTEGER minor units too, not only everyday prices.",
    },
    {
      test: "catches amounts treated as two decimals in every currency",
      variant: "every-currency-has-cents",
      bug: "assumes every currency has two decimals",
      missing:
        "Parse and format amounts in a currency without a minor unit (JPY) and one with three decimals (KWD).",
    },
    {
      test: "catches KWD treated as a two-decimal currency",
      variant: "kwd-two-decimals",
      bug: "gets JPY right but gives KWD two decimals instead of three",
      missing: "JPY alone is not enough: parse and format KWD amounts too, whose minor unit is a thousandth.",
    },
    {
      test: "catches a minus sign lost on small negative amounts",
      variant: "negative-format-loses-sign",
      bug: "drops the minus sign of a negative amount smaller than one unit (a refund of a few cents)",
      missing:
        "Format negative amounts, including ones between -1.00 and 0: the boundary around zero is where " +
        "sign handling breaks.",
    },
    {
      test: "catches negative amounts formatted with the wrong whole units",
      variant: "negative-format-floor",
      bug:
        "formats negative amounts that are not a whole number of units with a whole part one unit too far " +
        "from zero",
      missing:
        "Format negative amounts that have a fractional part (a refund of some units and some cents), not " +
        "only whole negative units, and compare the whole string.",
    },
  ]);
});

task(3, "Check cart pricing: discounts, tax and rounding", () => {
  catches([
    {
      test: "catches tax truncated instead of rounded half up",
      variant: "tax-truncated",
      bug: "truncates the tax instead of rounding it half up",
      missing:
        "Check a tax whose exact value ends in exactly .5 (it must round up), and one just above or below.",
    },
    {
      test: "catches tax rounded half to even",
      variant: "tax-rounded-half-even",
      bug: "rounds a tax of exactly one half to the even neighbour (banker's rounding), so some halves go down",
      missing:
        "Check taxes that end in exactly .5 with an even whole part as well as an odd one: halves always " +
        "round up.",
    },
    {
      test: "catches tax rounded line by line instead of once",
      variant: "tax-rounded-per-line",
      bug: "rounds each line's share of the tax and adds the rounded parts, instead of rounding the tax once",
      missing:
        "Price a cart of several lines whose own taxes would each be a fraction of a minor unit: the " +
        "contract rounds the tax once, on the whole discounted subtotal.",
    },
    {
      test: "catches tax charged on the subtotal before the coupon",
      variant: "tax-before-discount",
      bug: "computes the tax on the subtotal before the coupon",
      missing:
        "Check an order that has both a coupon and a tax rate, and assert the tax and the total, not only " +
        "the subtotal.",
    },
    {
      test: "catches free shipping decided before the coupon",
      variant: "free-shipping-before-discount",
      bug: "decides free shipping on the subtotal before the coupon",
      missing:
        "Check an order that reaches freeShippingFrom only before its coupon is taken off: shipping is " +
        "decided on subtotal - discount.",
    },
    {
      test: "catches a shipping fee that is taxed",
      variant: "shipping-taxed",
      bug: "includes the shipping fee in the amount it taxes",
      missing: "Check the tax of an order that pays shipping and has a tax rate: shipping is not taxed.",
    },
    {
      test: "catches an amount coupon worth more than the cart",
      variant: "coupon-exceeds-subtotal",
      bug: "lets an amount coupon discount more than the subtotal, so the goods cost less than nothing",
      missing: "Check a coupon worth more than the cart: the discount is capped at the subtotal.",
    },
    {
      test: "catches a discount reported above the subtotal",
      variant: "discount-reported-uncapped",
      bug:
        "keeps the total right when a coupon is worth more than the cart, but reports the coupon's full " +
        "value as the discount",
      missing:
        "When a coupon exceeds the cart, compare every field of the quote, discount included: the discount " +
        "is at most the subtotal.",
    },
  ]);
});

task(4, "Check boundaries and invalid input", () => {
  catches([
    {
      test: "catches shipping charged on an order of exactly freeShippingFrom",
      variant: "free-shipping-strictly-above",
      bug: "charges shipping on an order of exactly freeShippingFrom",
      missing:
        "Test a threshold at the boundary itself and one minor unit below it, not only far on either side.",
    },
    {
      test: "catches a quantity one above the limit accepted",
      variant: "quantity-upper-limit-off-by-one",
      bug: "accepts a quantity one above the largest the contract allows",
      missing:
        "For a range such as quantity 1 to 999, try each limit and one step outside it: the step outside " +
        "must throw a RangeError.",
    },
    {
      test: "catches quantities that are never validated",
      variant: "quantity-not-validated",
      bug: "prices lines with quantity 0, a negative quantity or a fractional one",
      missing:
        "Check that quote() throws a RangeError for each kind of invalid quantity: a negative line would " +
        "take money off a real order.",
    },
    {
      test: "catches fractional shipping amounts accepted",
      variant: "amounts-not-checked-whole",
      bug:
        "refuses negative amounts in the cart and rules but accepts a shippingFee or freeShippingFrom that " +
        "is not a whole number of minor units",
      missing:
        "Check that quote() throws a RangeError for a fractional shippingFee and freeShippingFrom (4.99 " +
        "typed in major units), not only for negative ones.",
    },
    {
      test: "catches a fractional tax rate accepted",
      variant: "tax-rate-not-whole",
      bug: "accepts a taxRateBasisPoints between 0 and 10000 that is not a whole number",
      missing:
        "Check a fractional tax rate (a percentage such as 8.25 typed where basis points belong), not only " +
        "rates outside 0 to 10000.",
    },
    {
      test: "catches parseAmount accepting text that is not a plain amount",
      variant: "parse-lenient",
      bug: "accepts several kinds of malformed text as amounts",
      missing:
        'One malformed input such as "abc" is not enough: check each kind the README lists (empty text, ' +
        "spaces, signs, exponents, separators, more decimals than the currency has).",
    },
    {
      test: "catches parseAmount accepting spaces around an amount",
      variant: "parse-trims-whitespace",
      bug: "accepts an amount with spaces, a tab or a newline before or after it",
      missing: "Check text with a space before the digits and one after them: the contract refuses spaces.",
    },
    {
      test: "catches parseAmount accepting characters in front of an amount",
      variant: "parse-unanchored-pattern",
      bug: "accepts text that only ends in a plain amount, such as one with a sign or a prefix in front",
      missing:
        "Check text with something before the digits (a sign, a letter, 0x) as well as text with something " +
        "after them.",
    },
    {
      test: "catches parseAmount accepting amounts above Number.MAX_SAFE_INTEGER",
      variant: "parse-too-large-accepted",
      bug: "returns amounts above Number.MAX_SAFE_INTEGER minor units instead of throwing a RangeError",
      missing:
        "Check the largest amount allowed and one minor unit above it (count the currency's decimals: " +
        "the limit is in minor units).",
    },
    {
      test: "catches a line with quantity 0 accepted",
      variant: "quantity-zero-accepted",
      bug: "checks quantity < 0 instead of < 1, so a line of quantity 0 is priced instead of refused",
      missing:
        "Try the lower limit of the quantity too: 1 is allowed, 0 (one step below it) must throw a RangeError.",
    },
    {
      test: "catches negative quantities accepted as returned items",
      variant: "quantity-negative-as-return",
      bug:
        "allows negative quantities (as if a returned item could be a line of the cart), so a line of quantity " +
        "-2 takes money off the order",
      missing:
        "Check that a cart with a negative quantity throws a RangeError, not only quantity 0: the contract " +
        "allows 1 to 999 and nothing else.",
    },
    {
      test: "catches fractional quantities accepted",
      variant: "quantity-fraction-accepted",
      bug: "checks that a quantity is from 1 to 999 but not that it is a whole number, so 1.5 units are priced",
      missing: "Check a fractional quantity between the limits (such as 1.5): it must throw a RangeError.",
    },
    {
      test: "catches a cart accepted when only some of its lines are valid",
      variant: "lines-checked-with-some",
      bug: "validates the lines with some() where every() was meant, so a cart passes when any one line is valid",
      missing:
        "Put an invalid line after a valid one in at least one cart: a check that only ever uses one-line " +
        "carts cannot see a module that validates only part of the cart.",
    },
    {
      test: "catches a negative unit price accepted",
      variant: "unit-price-negative-accepted",
      bug:
        "checks that a unit price is a whole number but not that it is >= 0, so a line with a negative price " +
        "takes money off the order",
      missing: "Check that a negative unit price throws a RangeError.",
    },
    {
      test: "catches a unit price in major units rounded instead of refused",
      variant: "unit-price-line-rounded",
      bug:
        "checks only that a unit price is >= 0 and rounds each line total to a whole minor unit, so a unit " +
        "price of 9.99 (major units by mistake) is priced as 10 cents",
      missing:
        "Check that a fractional unit price (9.99 typed in major units) throws a RangeError, not only a " +
        "negative one.",
    },
    {
      test: "catches an empty sku accepted",
      variant: "sku-empty-accepted",
      bug: "checks that a sku is a string but not that it is non-empty",
      missing: 'Check that a line with sku "" throws a RangeError.',
    },
    {
      test: "catches formatAmount rounding an amount that is not whole",
      variant: "format-rounds-fractions",
      bug:
        "rounds a minor amount that is not a whole number instead of refusing it, so formatAmount(1.5, " +
        '"USD") prints "0.02"',
      missing:
        "Check that formatAmount throws a RangeError for a minor amount that is not a safe integer (1.5, NaN, " +
        "Infinity, 2 ** 53).",
    },
    {
      test: "catches parseAmount reading empty text as 0",
      variant: "parse-empty-is-zero",
      bug: 'returns 0 for empty text, the way Number("") does, instead of throwing a RangeError',
      missing:
        'Check that parseAmount("", ...) throws a RangeError: an empty price field is not a price of 0.',
    },
    {
      test: "catches parseAmount skipping spaces before an amount",
      variant: "parse-skips-left-padding",
      bug: 'skips spaces in front of an amount (the padding of a right-aligned column), so " 12" is read as 12.00',
      missing:
        "Check text with a space before the digits, not only after them: each side can be handled apart.",
    },
    {
      test: "catches parseAmount trimming the end of the text",
      variant: "parse-trims-line-end",
      bug: 'strips blanks and line ends after an amount, so "12 " is read as 12.00',
      missing:
        "Check text with a space after the digits, not only before them: each side can be handled apart.",
    },
    {
      test: "catches parseAmount accepting a minus sign",
      variant: "parse-accepts-negative",
      bug: 'accepts a minus sign, so "-1.00" USD is read as -100 instead of refused',
      missing:
        'Check a negative amount such as "-1.00": parseAmount refuses signs, even though formatAmount prints them.',
    },
    {
      test: "catches parseAmount accepting a plus sign",
      variant: "parse-accepts-plus-sign",
      bug: 'accepts a leading + (while still refusing -), so "+1.00" USD is read as 100',
      missing: 'Check both signs: "+1.00" must throw a RangeError as well as "-1.00".',
    },
    {
      test: "catches parseAmount accepting an exponent",
      variant: "parse-accepts-exponent",
      bug: 'understands scientific notation, so "1e3" USD is read as 1000.00 instead of refused',
      missing: 'Check text with an exponent such as "1e3": it must throw a RangeError.',
    },
    {
      test: "catches parseAmount reading hexadecimal text",
      variant: "parse-deny-list",
      bug:
        'refuses the malformed text it has a rule for but lets Number() judge the rest, so "0x10" is read ' +
        "as hexadecimal",
      missing:
        'Check a hexadecimal amount such as "0x10" too: a parser built on a list of refused characters ' +
        "misses the kinds nobody listed.",
    },
    {
      test: "catches parseAmount accepting thousands separators",
      variant: "parse-thousands-separators",
      bug: 'accepts thousands separators, so "1,000.00" USD is read as 100000',
      missing:
        'Check an amount written with a thousands separator such as "1,000.00", not only a decimal comma.',
    },
    {
      test: "catches parseAmount reading a decimal comma",
      variant: "parse-decimal-comma",
      bug: 'reads a comma as the decimal point, so "12,50" EUR is read as 1250',
      missing:
        'Check an amount written with a decimal comma such as "12,50", not only a thousands separator.',
    },
    {
      test: "catches parseAmount accepting a point with no digits after it",
      variant: "parse-trailing-point",
      bug: 'accepts a point with no digits after it, so "12." USD is read as 1200',
      missing: 'Check a point without digits on either side: "12." and ".5" must both throw a RangeError.',
    },
    {
      test: "catches parseAmount accepting a point with no digits before it",
      variant: "parse-leading-point",
      bug: 'accepts a point with no digits before it, as Number() does, so ".5" USD is read as 50',
      missing: 'Check a point without digits on either side: "12." and ".5" must both throw a RangeError.',
    },
    {
      test: "catches parseAmount allowing three decimals in every currency",
      variant: "parse-three-decimals-everywhere",
      bug: 'allows three decimals in every currency that has decimals, so "19.999" USD is read as 19999',
      missing:
        'Check more decimals than the currency has in a two-decimal currency ("19.999" USD), not only in KWD.',
    },
    {
      test: "catches parseAmount accepting decimal zeros in JPY",
      variant: "parse-whole-currency-decimal-zeros",
      bug: 'accepts zero decimals in a currency without a minor unit, so "5.0" JPY is read as 5',
      missing:
        'Check a JPY amount written with a point and zeros ("5.0"): JPY text has no point at all, even when ' +
        "the value is whole.",
    },
  ]);
});
