// The module under test: money parsing and formatting, and the price of a shopping cart. Do not change
// it. Your checks in pricing-checks.ts receive it (or a hidden variant of it) as `impl`.
//
// Amounts are integers in the currency's minor unit (cents for USD, yen for JPY, fils for KWD), never
// floating-point major units.

export type Currency = "USD" | "EUR" | "JPY" | "KWD";

/** How many digits each currency has after the decimal point (ISO 4217). */
export const minorUnitDigits: Readonly<Record<Currency, number>> = { USD: 2, EUR: 2, JPY: 0, KWD: 3 };

export interface CartLine {
  sku: string;
  /** Price of one unit, in minor units. */
  unitPrice: number;
  quantity: number;
}

export type Coupon = { kind: "percent"; percent: number } | { kind: "amount"; amount: number };

export interface PricingRules {
  /** 825 = 8.25 %: a whole number of hundredths of a percent, 0 to 10000. */
  taxRateBasisPoints: number;
  shippingFee: number;
  /** A discounted subtotal at or above this ships free. */
  freeShippingFrom: number;
  coupon?: Coupon;
}

export interface Quote {
  subtotal: number;
  discount: number;
  shipping: number;
  tax: number;
  total: number;
}

/** "19.99" in USD -> 1999. Plain decimal text only; throws RangeError otherwise. */
export function parseAmount(text: string, currency: Currency): number {
  const digits = digitsOf(currency);
  const pattern = digits === 0 ? /^(\d+)$/ : new RegExp(`^(\\d+)(?:\\.(\\d{1,${digits}}))?$`);
  const match = typeof text === "string" ? pattern.exec(text) : null;
  if (!match) {
    throw new RangeError(`not a ${currency} amount: ${JSON.stringify(text)}`);
  }
  // Digits are joined as text, never multiplied as floats: 19.99 * 100 is 1998.9999999999998.
  const minor = Number(match[1]! + (match[2] ?? "").padEnd(digits, "0"));
  if (!Number.isSafeInteger(minor)) throw new RangeError(`amount too large: ${text}`);
  return minor;
}

/** 1999 in USD -> "19.99", 500 in JPY -> "500", -5 in USD -> "-0.05". */
export function formatAmount(minor: number, currency: Currency): string {
  const digits = digitsOf(currency);
  if (!Number.isSafeInteger(minor)) throw new RangeError(`not a whole number of minor units: ${minor}`);
  const sign = minor < 0 ? "-" : "";
  const text = String(Math.abs(minor)).padStart(digits + 1, "0");
  if (digits === 0) return sign + text;
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** The price of a cart: subtotal, coupon discount, shipping, tax on the discounted goods, total. */
export function quote(lines: CartLine[], rules: PricingRules): Quote {
  if (!Array.isArray(lines) || lines.length === 0) throw new RangeError("the cart is empty");
  let subtotal = 0;
  for (const line of lines) {
    if (typeof line.sku !== "string" || line.sku === "") throw new RangeError("every line needs a sku");
    requireAmount(line.unitPrice, `unit price of ${line.sku}`);
    if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > 999) {
      throw new RangeError(`quantity of ${line.sku} must be a whole number from 1 to 999`);
    }
    subtotal += line.unitPrice * line.quantity;
  }
  if (!Number.isSafeInteger(subtotal)) throw new RangeError("the order is too large");

  const { taxRateBasisPoints, shippingFee, freeShippingFrom, coupon } = rules;
  if (!Number.isInteger(taxRateBasisPoints) || taxRateBasisPoints < 0 || taxRateBasisPoints > 10_000) {
    throw new RangeError("taxRateBasisPoints must be a whole number from 0 to 10000");
  }
  requireAmount(shippingFee, "shippingFee");
  requireAmount(freeShippingFrom, "freeShippingFrom");

  const discount = Math.min(couponValue(coupon, subtotal), subtotal);
  const discounted = subtotal - discount;
  const shipping = discounted >= freeShippingFrom ? 0 : shippingFee;
  // Shipping is not taxed; the tax is rounded once, on the discounted goods.
  const tax = fractionRoundedHalfUp(discounted, taxRateBasisPoints, 10_000);
  return { subtotal, discount, shipping, tax, total: discounted + shipping + tax };
}

function couponValue(coupon: Coupon | undefined, subtotal: number): number {
  if (coupon === undefined) return 0;
  if (coupon.kind === "percent") {
    if (!Number.isInteger(coupon.percent) || coupon.percent < 1 || coupon.percent > 100) {
      throw new RangeError("a percent coupon takes a whole number from 1 to 100");
    }
    return fractionRoundedHalfUp(subtotal, coupon.percent, 100);
  }
  if (coupon.kind === "amount") {
    requireAmount(coupon.amount, "coupon amount");
    if (coupon.amount === 0) throw new RangeError("an amount coupon must be worth something");
    return coupon.amount;
  }
  throw new RangeError(`unknown coupon kind: ${String((coupon as { kind: unknown }).kind)}`);
}

/** amount * parts / whole, rounded to the nearest integer, halves up; exact (BigInt), never a float. */
function fractionRoundedHalfUp(amount: number, parts: number, whole: number): number {
  return Number((BigInt(amount) * BigInt(parts) * 2n + BigInt(whole)) / (2n * BigInt(whole)));
}

function requireAmount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a whole number of minor units >= 0, got ${value}`);
  }
}

function digitsOf(currency: Currency): number {
  const digits = minorUnitDigits[currency];
  if (digits === undefined || !Object.hasOwn(minorUnitDigits, currency)) {
    throw new RangeError(`unknown currency: ${String(currency)}`);
  }
  return digits;
}
