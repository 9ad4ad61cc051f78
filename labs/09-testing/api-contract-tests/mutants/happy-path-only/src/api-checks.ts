// MUTANT happy-path-only: one product, one order, both expected to succeed.
import assert from "node:assert/strict";
import type pg from "pg";

export async function checkApi(baseUrl: string, db: pg.Pool): Promise<void> {
  void db;
  const json = { "content-type": "application/json" };
  const product = await fetch(`${baseUrl}/products`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ sku: "MUG-1", name: "Enamel mug", priceCents: 1200, stock: 5 }),
  });
  assert.ok(product.ok, "creating a product works");
  const order = await fetch(`${baseUrl}/orders`, {
    method: "POST",
    headers: { ...json, "idempotency-key": "order-1" },
    body: JSON.stringify({ sku: "MUG-1", quantity: 2 }),
  });
  assert.ok(order.ok, "ordering works");
  const body = (await order.json()) as { totalCents: number };
  assert.equal(body.totalCents, 2400, "the order's total");
}
