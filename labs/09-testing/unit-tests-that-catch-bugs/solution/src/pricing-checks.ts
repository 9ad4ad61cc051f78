// Checks for the pricing module: each case is an example a buggy implementation would get wrong, with
// expected values worked out by hand from the contract (never computed by the code under test).
import assert from "node:assert/strict";
import type * as Pricing from "./pricing.ts";

type Impl = typeof Pricing;
type Rules = Pricing.PricingRules;

export function checkPricing(impl: Impl): void {
  checkParsing(impl);
  checkFormatting(impl);
  checkQuotes(impl);
  checkInvalidCarts(impl);
}

function checkParsing(impl: Impl): void {
  const valid: [string, Pricing.Currency, number][] = [
    ["0", "USD", 0],
    ["12", "USD", 1200],
    ["12.3", "USD", 1230],
    ["12.34", "USD", 1234],
    // Decimal fractions with no exact binary float: text * 100 lands just below the integer.
    ["19.99", "USD", 1999],
    ["0.29", "EUR", 29],
    ["4.35", "EUR", 435],
    ["1.15", "USD", 115],
    ["500", "JPY", 500],
    ["1.234", "KWD", 1234],
    ["0.5", "KWD", 500],
    ["90071992547409.91", "USD", 9_007_199_254_740_991],
    // The largest safe amount with three decimals: a float has only about 16 significant digits.
    ["9007199254740.991", "KWD", 9_007_199_254_740_991],
  ];
  for (const [text, currency, minor] of valid) {
    assert.equal(
      impl.parseAmount(text, currency),
      minor,
      // Stryker disable next-line StringLiteral: an assertion message only labels the failing case; it is not graded
      `parseAmount(${JSON.stringify(text)}, "${currency}")`,
    );
  }

  const invalid: [string, Pricing.Currency][] = [
    ["", "USD"],
    [" 12", "USD"],
    ["12 ", "USD"],
    ["-1.00", "USD"],
    ["+1.00", "USD"],
    ["1e3", "USD"],
    ["0x10", "USD"],
    ["1,000.00", "USD"],
    ["12,50", "EUR"],
    ["12.", "USD"],
    [".5", "USD"],
    ["abc", "USD"],
    ["19.999", "USD"],
    ["1.2345", "KWD"],
    ["5.5", "JPY"],
    ["5.0", "JPY"],
    ["90071992547409.92", "USD"],
  ];
  for (const [text, currency] of invalid) {
    assert.throws(
      () => impl.parseAmount(text, currency),
      RangeError,
      // Stryker disable next-line StringLiteral: an assertion message only labels the failing case; it is not graded
      `parseAmount(${JSON.stringify(text)}, "${currency}") must throw a RangeError`,
    );
  }
}

function checkFormatting(impl: Impl): void {
  const cases: [number, Pricing.Currency, string][] = [
    [0, "USD", "0.00"],
    [5, "USD", "0.05"],
    [1999, "USD", "19.99"],
    [123_456, "EUR", "1234.56"],
    [500, "JPY", "500"],
    [0, "JPY", "0"],
    [1234, "KWD", "1.234"],
    [7, "KWD", "0.007"],
    // Refunds: a negative amount under one unit still needs its sign.
    [-5, "USD", "-0.05"],
    [-99, "EUR", "-0.99"],
    [-1234, "USD", "-12.34"],
    [-500, "JPY", "-500"],
    [-1, "KWD", "-0.001"],
    // Too large for minor / 100 to be exact in a float.
    [9_007_199_254_740_990, "USD", "90071992547409.90"],
  ];
  for (const [minor, currency, text] of cases) {
    // Stryker disable next-line StringLiteral: an assertion message only labels the failing case; it is not graded
    assert.equal(impl.formatAmount(minor, currency), text, `formatAmount(${minor}, "${currency}")`);
  }
  for (const minor of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    // Stryker disable next-line StringLiteral: an assertion message only labels the failing case; it is not graded
    assert.throws(() => impl.formatAmount(minor, "USD"), RangeError, `formatAmount(${minor}, "USD")`);
  }
}

const noTax: Rules = { taxRateBasisPoints: 0, shippingFee: 0, freeShippingFrom: 0 };
const line = (unitPrice: number, quantity = 1, sku = "sku-1"): Pricing.CartLine => ({
  sku,
  unitPrice,
  quantity,
});

function checkQuotes(impl: Impl): void {
  // Stryker disable StringLiteral: case names only label the assertion message, and the skus of these carts are arbitrary non-empty labels (the empty sku is checked in checkInvalidCarts)
  const cases: { name: string; lines: Pricing.CartLine[]; rules: Rules; expected: Pricing.Quote }[] = [
    {
      name: "several lines, no tax, no shipping",
      lines: [line(1999, 2, "a"), line(500, 3, "b"), line(0, 1, "gift")],
      rules: noTax,
      expected: { subtotal: 5498, discount: 0, shipping: 0, tax: 0, total: 5498 },
    },
    {
      name: "tax of exactly one half rounds up: 8.25 % of 1000 = 82.5",
      lines: [line(1000)],
      rules: { ...noTax, taxRateBasisPoints: 825 },
      expected: { subtotal: 1000, discount: 0, shipping: 0, tax: 83, total: 1083 },
    },
    {
      name: "tax just below one half rounds down: 8.25 % of 999 = 82.4175",
      lines: [line(999)],
      rules: { ...noTax, taxRateBasisPoints: 825 },
      expected: { subtotal: 999, discount: 0, shipping: 0, tax: 82, total: 1081 },
    },
    {
      name: "tax above one half rounds up: 7 % of 1010 = 70.7",
      lines: [line(505, 2)],
      rules: { ...noTax, taxRateBasisPoints: 700 },
      expected: { subtotal: 1010, discount: 0, shipping: 0, tax: 71, total: 1081 },
    },
    {
      name: "tax is rounded once for the order: 10 % of three 5-cent lines is 1.5, rounded to 2",
      lines: [line(5, 1, "a"), line(5, 1, "b"), line(5, 1, "c")],
      rules: { ...noTax, taxRateBasisPoints: 1000 },
      expected: { subtotal: 15, discount: 0, shipping: 0, tax: 2, total: 17 },
    },
    {
      name: "tax on the discounted goods: 10 % off 2000, then 10 % tax on 1800",
      lines: [line(1000, 2)],
      rules: { ...noTax, taxRateBasisPoints: 1000, coupon: { kind: "percent", percent: 10 } },
      expected: { subtotal: 2000, discount: 200, shipping: 0, tax: 180, total: 1980 },
    },
    {
      name: "a percent discount rounds half up: 15 % of 1010 = 151.5",
      lines: [line(1010)],
      rules: { ...noTax, coupon: { kind: "percent", percent: 15 } },
      expected: { subtotal: 1010, discount: 152, shipping: 0, tax: 0, total: 858 },
    },
    {
      name: "an amount coupon worth more than the cart discounts the subtotal, no more",
      lines: [line(1500)],
      rules: {
        taxRateBasisPoints: 2000,
        shippingFee: 499,
        freeShippingFrom: 5000,
        coupon: { kind: "amount", amount: 2000 },
      },
      expected: { subtotal: 1500, discount: 1500, shipping: 499, tax: 0, total: 499 },
    },
    {
      name: "a 100 % coupon makes the goods free",
      lines: [line(1234)],
      rules: { ...noTax, taxRateBasisPoints: 825, coupon: { kind: "percent", percent: 100 } },
      expected: { subtotal: 1234, discount: 1234, shipping: 0, tax: 0, total: 0 },
    },
    {
      name: "one unit below the free-shipping threshold pays shipping",
      lines: [line(4999)],
      rules: { ...noTax, shippingFee: 499, freeShippingFrom: 5000 },
      expected: { subtotal: 4999, discount: 0, shipping: 499, tax: 0, total: 5498 },
    },
    {
      name: "exactly the free-shipping threshold ships free",
      lines: [line(2500, 2)],
      rules: { ...noTax, shippingFee: 499, freeShippingFrom: 5000 },
      expected: { subtotal: 5000, discount: 0, shipping: 0, tax: 0, total: 5000 },
    },
    {
      name: "the threshold applies after the coupon, and shipping is not taxed",
      lines: [line(5500)],
      rules: {
        taxRateBasisPoints: 1000,
        shippingFee: 499,
        freeShippingFrom: 5000,
        coupon: { kind: "amount", amount: 1000 },
      },
      expected: { subtotal: 5500, discount: 1000, shipping: 499, tax: 450, total: 5449 },
    },
    {
      name: "quantity 999 is allowed",
      lines: [line(1, 999)],
      rules: noTax,
      expected: { subtotal: 999, discount: 0, shipping: 0, tax: 0, total: 999 },
    },
  ];
  for (const { name, lines, rules, expected } of cases) {
    assert.deepEqual(impl.quote(lines, rules), expected, `quote: ${name}`);
  }
}

// Stryker restore StringLiteral
function checkInvalidCarts(impl: Impl): void {
  // Each cart has one thing wrong; the failure message shows the cart itself.
  const badCarts: Pricing.CartLine[][] = [
    [], // an empty cart
    [line(100, 0)],
    [line(1000, 1), line(1000, -2, "refund-me")], // a bad second line
    [line(100, 1.5)],
    [line(100, 1000)],
    [line(-100)],
    [line(9.99)], // a unit price in major units
    [line(100, 1, "")],
  ];
  for (const lines of badCarts) {
    // Stryker disable next-line StringLiteral: an assertion message only labels the failing case; it is not graded
    assert.throws(() => impl.quote(lines, noTax), RangeError, `quote must refuse ${JSON.stringify(lines)}`);
  }

  const badRules: Rules[] = [
    { ...noTax, taxRateBasisPoints: -1 },
    { ...noTax, taxRateBasisPoints: 10_001 },
    { ...noTax, taxRateBasisPoints: 8.25 }, // a percentage where basis points belong
    { ...noTax, shippingFee: -499 },
    { ...noTax, shippingFee: 4.99 }, // major units
    { ...noTax, coupon: { kind: "percent", percent: 0 } },
    { ...noTax, coupon: { kind: "percent", percent: 101 } },
    { ...noTax, coupon: { kind: "amount", amount: 0 } },
    { ...noTax, coupon: { kind: "amount", amount: -500 } },
  ];
  for (const rules of badRules) {
    assert.throws(
      () => impl.quote([line(1000)], rules),
      RangeError,
      // Stryker disable next-line StringLiteral: an assertion message only labels the failing case; it is not graded
      `quote must refuse ${JSON.stringify(rules)}`,
    );
  }
}
