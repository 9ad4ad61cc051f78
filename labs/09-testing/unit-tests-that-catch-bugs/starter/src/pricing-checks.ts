// Your checks. checkPricing receives an implementation of the pricing module (src/pricing.ts, or one of
// the grader's hidden variants) and must throw when it breaks the contract in the README, and return
// quietly when it keeps it. node:assert throws AssertionErrors with a readable diff.
import assert from "node:assert/strict";
import type * as Pricing from "./pricing.ts";

export function checkPricing(impl: typeof Pricing): void {
  // TODO: one check to start from. Add the cases a buggy implementation would get wrong.
  assert.equal(impl.parseAmount("12.34", "USD"), 1234, 'parseAmount("12.34", "USD")');
}
