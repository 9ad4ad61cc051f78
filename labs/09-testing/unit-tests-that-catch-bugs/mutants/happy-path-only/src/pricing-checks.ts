// MUTANT happy-path-only: one ordinary cart, one USD amount each way, one obviously bad input.
import assert from "node:assert/strict";
import type * as Pricing from "./pricing.ts";

export function checkPricing(impl: typeof Pricing): void {
  assert.equal(impl.parseAmount("12.34", "USD"), 1234);
  assert.equal(impl.formatAmount(1234, "USD"), "12.34");
  assert.throws(() => impl.parseAmount("abc", "USD"), RangeError);
  assert.deepEqual(
    impl.quote([{ sku: "book", unitPrice: 2000, quantity: 2 }], {
      taxRateBasisPoints: 1000,
      shippingFee: 499,
      freeShippingFrom: 10_000,
    }),
    { subtotal: 4000, discount: 0, shipping: 499, tax: 400, total: 4899 },
  );
}
