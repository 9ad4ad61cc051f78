// Model-based checks: the README's contract is written out a second time below as a small, exact oracle
// (BigInt arithmetic, a hand-written scanner instead of a regular expression), and every case, hand-picked
// edge or generated from a fixed seed, is run through both the implementation and the oracle. An input the
// oracle rejects must make the implementation throw a RangeError; any other input must give exactly the
// oracle's value. Only behaviour the contract promises is compared: never the wording of an error.
import assert from "node:assert/strict";
import type * as Pricing from "./pricing.ts";

type Impl = typeof Pricing;
type Currency = Pricing.Currency;
type CartLine = Pricing.CartLine;
type PricingRules = Pricing.PricingRules;

const DECIMALS: Record<Currency, number> = { USD: 2, EUR: 2, JPY: 0, KWD: 3 };
const CURRENCIES = Object.keys(DECIMALS) as Currency[];
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const REJECTED = Symbol("RangeError");
type Expected<T> = T | typeof REJECTED;

// ---- the oracle: the contract, independently ----

function oracleParse(text: string, currency: Currency): Expected<number> {
  const decimals = DECIMALS[currency];
  let whole = "";
  let fraction = "";
  let point = false;
  for (const ch of text) {
    if (ch.length === 1 && ch >= "0" && ch <= "9") {
      if (point) fraction += ch;
      else whole += ch;
    } else if (ch === "." && !point) {
      point = true;
    } else {
      return REJECTED;
    }
  }
  if (whole === "") return REJECTED;
  if (point && (fraction.length === 0 || fraction.length > decimals)) return REJECTED;
  const minor = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  return minor > MAX_SAFE ? REJECTED : Number(minor);
}

function oracleFormat(minor: number, currency: Currency): Expected<string> {
  if (!Number.isSafeInteger(minor)) return REJECTED;
  const decimals = DECIMALS[currency];
  const magnitude = BigInt(Math.abs(minor));
  const unit = 10n ** BigInt(decimals);
  const whole = (magnitude / unit).toString();
  const fraction = (magnitude % unit).toString().padStart(decimals, "0");
  return (minor < 0 ? "-" : "") + whole + (decimals > 0 ? "." + fraction : "");
}

/** n / d for n >= 0, to the nearest integer, halves up. */
function halfUp(n: bigint, d: bigint): bigint {
  const q = n / d;
  return (n % d) * 2n >= d ? q + 1n : q;
}

const wholeIn = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

function oracleQuote(lines: CartLine[], rules: PricingRules): Expected<Pricing.Quote> {
  if (lines.length === 0) return REJECTED;
  for (const line of lines) {
    if (line.sku === "" || !wholeIn(line.unitPrice, 0) || !wholeIn(line.quantity, 1, 999)) return REJECTED;
  }
  const { taxRateBasisPoints: rate, shippingFee, freeShippingFrom, coupon } = rules;
  if (!wholeIn(rate, 0, 10_000) || !wholeIn(shippingFee, 0) || !wholeIn(freeShippingFrom, 0)) return REJECTED;
  if (coupon?.kind === "percent" && !wholeIn(coupon.percent, 1, 100)) return REJECTED;
  if (coupon?.kind === "amount" && !wholeIn(coupon.amount, 1)) return REJECTED;

  const subtotal = lines.reduce((sum, l) => sum + BigInt(l.unitPrice) * BigInt(l.quantity), 0n);
  let discount = 0n;
  if (coupon?.kind === "percent") discount = halfUp(subtotal * BigInt(coupon.percent), 100n);
  if (coupon?.kind === "amount") discount = BigInt(coupon.amount);
  if (discount > subtotal) discount = subtotal;
  const goods = subtotal - discount;
  const shipping = goods >= BigInt(freeShippingFrom) ? 0n : BigInt(shippingFee);
  const tax = halfUp(goods * BigInt(rate), 10_000n);
  const total = goods + shipping + tax;
  return {
    subtotal: Number(subtotal),
    discount: Number(discount),
    shipping: Number(shipping),
    tax: Number(tax),
    total: Number(total),
  };
}

// ---- comparing an implementation with the oracle ----

function agree<T>(label: string, expected: Expected<T>, run: () => T): void {
  if (expected === REJECTED) {
    assert.throws(run, RangeError, `${label} must throw a RangeError`);
    return;
  }
  let actual: T;
  try {
    actual = run();
  } catch (error) {
    assert.fail(`${label} threw ${String(error)}; the contract gives ${JSON.stringify(expected)}`);
  }
  assert.deepEqual(actual, expected, label);
}

function checkParse(impl: Impl, text: string, currency: Currency): void {
  agree(`parseAmount(${JSON.stringify(text)}, "${currency}")`, oracleParse(text, currency), () =>
    impl.parseAmount(text, currency),
  );
}

function checkFormat(impl: Impl, minor: number, currency: Currency): void {
  agree(`formatAmount(${minor}, "${currency}")`, oracleFormat(minor, currency), () =>
    impl.formatAmount(minor, currency),
  );
}

function checkQuote(impl: Impl, lines: CartLine[], rules: PricingRules): void {
  const label = `quote(${JSON.stringify(lines)}, ${JSON.stringify(rules)})`;
  agree(label, oracleQuote(lines, rules), () => impl.quote(lines, rules));
}

/** mulberry32: the same "random" cases on every run, so a failure can be reproduced. */
function seeded(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

// ---- anchors worked out by hand, so the oracle itself is checked against the README's examples ----

function checkReadmeExamples(impl: Impl): void {
  const anchors: [string, unknown, () => unknown][] = [
    ["parse 19.99 USD", 1999, () => impl.parseAmount("19.99", "USD")],
    ["parse 0.29 EUR", 29, () => impl.parseAmount("0.29", "EUR")],
    ["parse 500 JPY", 500, () => impl.parseAmount("500", "JPY")],
    ["parse 1.234 KWD", 1234, () => impl.parseAmount("1.234", "KWD")],
    ["format 1999 USD", "19.99", () => impl.formatAmount(1999, "USD")],
    ["format 0 USD", "0.00", () => impl.formatAmount(0, "USD")],
    ["format 500 JPY", "500", () => impl.formatAmount(500, "JPY")],
    ["format 7 KWD", "0.007", () => impl.formatAmount(7, "KWD")],
    ["format -5 USD", "-0.05", () => impl.formatAmount(-5, "USD")],
    [
      "8.25 % of 10.00 is 82.5, rounded half up to 83",
      { subtotal: 1000, discount: 0, shipping: 0, tax: 83, total: 1083 },
      () => impl.quote([{ sku: "a", unitPrice: 1000, quantity: 1 }], rules(825, 500, 1000)),
    ],
  ];
  for (const [label, expected, run] of anchors) assert.deepEqual(run(), expected, label);
}

function rules(taxRateBasisPoints: number, shippingFee: number, freeShippingFrom: number): PricingRules {
  return { taxRateBasisPoints, shippingFee, freeShippingFrom };
}

// ---- amounts: every currency, exact arithmetic, signs, and text that must be refused ----

function checkAmounts(impl: Impl): void {
  const next = seeded(20_240_611);
  for (const currency of CURRENCIES) {
    const minors = new Set<number>();
    for (let m = 0; m <= 1100; m++) minors.add(m);
    for (let i = 0; i < 300; i++) minors.add(next(10 ** 9));
    for (let i = 0; i < 100; i++) minors.add(Number.MAX_SAFE_INTEGER - next(10 ** 6));
    for (let i = 0; i < 100; i++) minors.add(next(2 ** 31) * 2 ** 21 + next(2 ** 21));
    let nth = 0;
    for (const minor of minors) {
      checkFormat(impl, minor, currency);
      if (minor !== 0) checkFormat(impl, -minor, currency);
      const text = oracleFormat(minor, currency) as string;
      checkParse(impl, text, currency);
      // The same amount written with fewer decimals ("1.2" for 1.200 KWD) is still valid text.
      const shorter = text.includes(".") ? text.replace(/0+$/, "") : text;
      if (!shorter.endsWith(".")) checkParse(impl, shorter, currency);
      // Text that looks like an amount but is not plain decimal text (on a sample: refusals are slow).
      if (nth++ % 16 !== 0) continue;
      for (const bad of [`-${text}`, `+${text}`, ` ${text}`, `${text} `, `${text}0`, `${text}.5`]) {
        checkParse(impl, bad, currency);
      }
    }
    for (const text of [
      "",
      " ",
      ".",
      "5.",
      ".5",
      "1e3",
      "1E2",
      "0x10",
      "0b1",
      "1,000",
      "1,5",
      "1.2.3",
      "1_000",
      "Infinity",
      "NaN",
      "abc",
      "12a",
      "\t7",
      "7\n",
      "１２",
      "٣",
      "00",
      "007",
      "0.0",
      "19.999",
      "5.5",
      "1.2345",
      "9007199254740991",
      "9007199254740992",
      "90071992547409.91",
      "90071992547409.92",
      "9007199254740.991",
      "9007199254740.992",
      "1" + "0".repeat(30),
    ]) {
      checkParse(impl, text, currency);
    }
    for (const bad of [0.5, -1.5, 1e-7, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) {
      checkFormat(impl, bad, currency);
    }
  }
}

// ---- carts: every rule and its order, on generated carts aimed at the edges ----

function checkCarts(impl: Impl): void {
  const next = seeded(7_041_999);
  const pick = <T>(items: readonly T[]): T => items[next(items.length)]!;
  const rates = [0, 1, 5, 25, 50, 99, 500, 700, 825, 875, 1000, 1250, 1999, 5000, 9999, 10_000];
  for (let i = 0; i < 3000; i++) {
    const lines: CartLine[] = [];
    const count = 1 + next(4);
    for (let l = 0; l < count; l++) {
      const unitPrice = pick([0, 1, 2, 5, 99, 199, 250, 999, 1999, next(100), next(10_000), next(1_000_000)]);
      const quantity = pick([1, 1, 2, 3, 7, 999, 1 + next(999)]);
      lines.push({ sku: `sku-${l}`, unitPrice, quantity });
    }
    const subtotal = lines.reduce((sum, l) => sum + l.unitPrice * l.quantity, 0);
    const rule: PricingRules = rules(pick([...rates, next(10_001)]), pick([0, 1, 499, next(2000)]), 0);
    const roll = next(6);
    if (roll === 1)
      rule.coupon = { kind: "percent", percent: pick([1, 10, 15, 33, 50, 99, 100, 1 + next(100)]) };
    if (roll === 2)
      rule.coupon = {
        kind: "amount",
        amount: pick([1, 100, Math.max(1, subtotal), subtotal + 1, 1 + next(20_000)]),
      };
    // Aim the free-shipping threshold at the discounted subtotal, at the subtotal, and next to both.
    const { discount } = oracleQuote(lines, rule) as Pricing.Quote;
    const goods = subtotal - discount;
    rule.freeShippingFrom = Math.max(
      0,
      pick([goods - 1, goods, goods + 1, subtotal, subtotal + 1, next(50_000)]),
    );
    checkQuote(impl, lines, rule);
  }
  // Tax exactly on a half: 0.5, 1.5, 2.5, 82.5 (banker's rounding and truncation both get some of them wrong).
  for (const [goods, rate] of [
    [200, 25],
    [600, 25],
    [1000, 25],
    [1000, 825],
    [2, 2500],
    [1, 5000],
    [3, 5000],
    [10_001, 5000],
  ] as const) {
    checkQuote(impl, [{ sku: "half", unitPrice: goods, quantity: 1 }], rules(rate, 300, 1_000_000));
  }
  // Rounded once: lines whose taxes are each below a half but add up past one.
  checkQuote(
    impl,
    [
      { sku: "x", unitPrice: 100, quantity: 1 },
      { sku: "y", unitPrice: 100, quantity: 1 },
      { sku: "z", unitPrice: 100, quantity: 1 },
    ],
    rules(25, 0, 0),
  );
}

// ---- input quote must refuse: one bad field at a time in an otherwise valid order ----

function checkRefusals(impl: Impl): void {
  const line: CartLine = { sku: "ok", unitPrice: 1250, quantity: 2 };
  const base: PricingRules = rules(825, 499, 5000);
  const badNumbers = (limitBelow: number, limitAbove?: number): number[] => [
    limitBelow - 1,
    limitBelow - 0.5,
    limitBelow + 0.5,
    NaN,
    ...(limitAbove === undefined ? [Infinity] : [limitAbove + 1, limitAbove + 0.5]),
  ];
  const cases: [CartLine[], PricingRules][] = [
    [[], base],
    [[{ ...line, sku: "" }], base],
    [[line, { ...line, sku: "" }], base],
    // The limits themselves are valid: the oracle expects a price for these.
    [[{ ...line, unitPrice: 0 }], base],
    [[{ ...line, quantity: 1 }], base],
    [[{ ...line, quantity: 999 }], base],
    [[line], rules(0, 0, 0)],
    [[line], rules(10_000, 0, 0)],
    [[line], { ...base, coupon: { kind: "percent", percent: 1 } }],
    [[line], { ...base, coupon: { kind: "percent", percent: 100 } }],
    [[line], { ...base, coupon: { kind: "amount", amount: 1 } }],
  ];
  for (const bad of badNumbers(0)) {
    cases.push([[{ ...line, unitPrice: bad }], base]);
    cases.push([[line], { ...base, shippingFee: bad }]);
    cases.push([[line], { ...base, freeShippingFrom: bad }]);
  }
  for (const bad of badNumbers(1, 999)) {
    cases.push([[{ ...line, quantity: bad }], base]);
    cases.push([[line, { ...line, sku: "second", quantity: bad }], base]);
  }
  for (const bad of [-3, -1, 0]) cases.push([[{ ...line, quantity: bad }], base]);
  for (const bad of badNumbers(0, 10_000)) cases.push([[line], { ...base, taxRateBasisPoints: bad }]);
  for (const bad of badNumbers(1, 100))
    cases.push([[line], { ...base, coupon: { kind: "percent", percent: bad } }]);
  for (const bad of [...badNumbers(1), -500])
    cases.push([[line], { ...base, coupon: { kind: "amount", amount: bad } }]);
  for (const [lines, rule] of cases) checkQuote(impl, lines, rule);
}

export function checkPricing(impl: Impl): void {
  checkReadmeExamples(impl);
  checkAmounts(impl);
  checkCarts(impl);
  checkRefusals(impl);
}
