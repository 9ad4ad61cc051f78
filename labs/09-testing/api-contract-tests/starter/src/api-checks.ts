// Your contract checks. checkApi gets the base URL of a running copy of the inventory API (src/inventory.ts,
// or one of the grader's hidden variants) over freshly emptied tables, and a pg.Pool on the same database
// to look at what the API stored. It must throw when the API breaks the contract in the README, and return
// quietly when it keeps it. node:assert throws AssertionErrors with a readable diff.
import assert from "node:assert/strict";
import type pg from "pg";

export async function checkApi(baseUrl: string, db: pg.Pool): Promise<void> {
  // TODO: one check to start from. Add the requests a buggy API would answer wrongly.
  const response = await fetch(`${baseUrl}/products`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sku: "MUG-1", name: "Enamel mug", priceCents: 1200, stock: 5 }),
  });
  assert.ok(response.ok, `POST /products with a valid product answered ${response.status}`);
  const { rows } = await db.query<{ stock: number }>("SELECT stock FROM products WHERE sku = 'MUG-1'");
  assert.equal(rows[0]?.stock, 5, "the product's stock as stored");
}
