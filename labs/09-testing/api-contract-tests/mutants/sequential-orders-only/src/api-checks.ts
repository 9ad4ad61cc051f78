// MUTANT sequential-orders-only: every request waits for the previous one.
// Contract checks for the inventory API: each request is one a client really sends, each expectation
// comes from the README's contract, and every write is confirmed in the tables, not only in the response.
import assert from "node:assert/strict";
import type pg from "pg";

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | null;
}

interface ProductInput {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

export async function checkApi(baseUrl: string, db: pg.Pool): Promise<void> {
  const api = client(baseUrl);
  await checkProducts(api, db);
  await checkOrders(api, db);
  await checkPagination(api);
}

function client(baseUrl: string) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(baseUrl + path, {
      method,
      headers: { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    const what = `${method} ${path}`;
    assert.match(
      response.headers.get("content-type") ?? "",
      /^application\/json\b/,
      `${what}: Content-Type must be application/json`,
    );
    return { status: response.status, headers: response.headers, body: JSON.parse(text) as Reply["body"] };
  };
  return {
    get: (path: string) => call("GET", path),
    post: (path: string, body: unknown, headers?: Record<string, string>) =>
      call("POST", path, body, headers),
    order: (key: string | undefined, body: unknown) =>
      call("POST", "/orders", body, key === undefined ? {} : { "idempotency-key": key }),
  };
}

type Api = ReturnType<typeof client>;

/** The listed fields of a response body, whatever else it carries. */
function pick(body: Reply["body"], fields: string[]): Record<string, unknown> {
  assert.ok(body !== null && typeof body === "object", "expected a JSON object body");
  return Object.fromEntries(fields.map((field) => [field, body[field]]));
}

const productFields = ["sku", "name", "priceCents", "stock"];
const orderFields = ["id", "sku", "quantity", "totalCents"];

function assertError(reply: Reply, status: number, what: string): void {
  assert.equal(reply.status, status, `${what}: status`);
  assert.equal(typeof reply.body?.error, "string", `${what}: the body must be { "error": "<message>" }`);
}

async function stockOf(db: pg.Pool, sku: string): Promise<number | undefined> {
  const { rows } = await db.query<{ stock: number }>("SELECT stock FROM products WHERE sku = $1", [sku]);
  return rows[0]?.stock;
}

async function ordersFor(db: pg.Pool, sku: string) {
  const { rows } = await db.query<{ idempotency_key: string; quantity: number; total_cents: string }>(
    "SELECT idempotency_key, quantity, total_cents FROM orders WHERE sku = $1 ORDER BY id",
    [sku],
  );
  return rows.map((row) => ({
    key: row.idempotency_key,
    quantity: row.quantity,
    totalCents: Number(row.total_cents),
  }));
}

async function checkProducts(api: Api, db: pg.Pool): Promise<void> {
  const mug: ProductInput = { sku: "MUG-1", name: "Enamel mug", priceCents: 1200, stock: 5 };
  const created = await api.post("/products", mug);
  assert.equal(created.status, 201, "POST /products with a valid product: 201 Created");
  assert.equal(
    created.headers.get("location"),
    "/products/MUG-1",
    "POST /products: Location of the new product",
  );
  assert.deepEqual(pick(created.body, productFields), mug, "POST /products: the created product");
  const { rows } = await db.query("SELECT sku, name, price_cents, stock FROM products WHERE sku = 'MUG-1'");
  assert.deepEqual(rows, [{ sku: "MUG-1", name: "Enamel mug", price_cents: 1200, stock: 5 }], "products row");

  const fetched = await api.get("/products/MUG-1");
  assert.equal(fetched.status, 200, "GET /products/MUG-1");
  assert.deepEqual(pick(fetched.body, productFields), mug, "GET /products/MUG-1: the product");
  assertError(await api.get("/products/NO-SUCH-SKU"), 404, "GET of an unknown sku");

  const duplicate = await api.post("/products", { ...mug, name: "Impostor", stock: 99 });
  assertError(duplicate, 409, "POST /products with a sku that exists");
  assert.equal(await stockOf(db, "MUG-1"), 5, "a refused duplicate must leave the existing product alone");

  const invalid: [string, unknown][] = [
    ["not JSON", "{ sku: MUG-2"],
    ["an array", [mug]],
    ["no sku", { name: "Mug", priceCents: 100, stock: 1 }],
    ["a lower-case sku", { ...mug, sku: "mug-2" }],
    ["a 33-character sku", { ...mug, sku: "M".repeat(33) }],
    ["a blank name", { ...mug, sku: "MUG-2", name: "   " }],
    ["a 101-character name", { ...mug, sku: "MUG-2", name: "n".repeat(101) }],
    ["a negative price", { ...mug, sku: "MUG-2", priceCents: -1 }],
    ["a fractional price", { ...mug, sku: "MUG-2", priceCents: 12.5 }],
    ["a price as a string", { ...mug, sku: "MUG-2", priceCents: "1200" }],
    ["a negative stock", { ...mug, sku: "MUG-2", stock: -1 }],
    ["a stock above 1000000", { ...mug, sku: "MUG-2", stock: 1_000_001 }],
  ];
  for (const [what, body] of invalid)
    assertError(await api.post("/products", body), 400, `POST /products with ${what}`);
  const { rows: count } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM products");
  assert.equal(count[0]?.n, 1, "invalid products must not be stored");

  const edge: ProductInput = { sku: "Z".repeat(32), name: "n".repeat(100), priceCents: 0, stock: 0 };
  const atLimits = await api.post("/products", edge);
  assert.equal(
    atLimits.status,
    201,
    "POST /products at the limits (32-character sku, 100-character name, 0, 0)",
  );
}

async function checkOrders(api: Api, db: pg.Pool): Promise<void> {
  await api.post("/products", { sku: "TEA-1", name: "Green tea", priceCents: 450, stock: 5 });
  const order = { sku: "TEA-1", quantity: 2 };

  assertError(await api.order(undefined, order), 400, "POST /orders without an Idempotency-Key");
  const first = await api.order("key-1", order);
  assert.equal(first.status, 201, "POST /orders: 201 Created");
  const placed = pick(first.body, orderFields);
  assert.equal(typeof placed.id, "number", "an order's id is a number");
  assert.deepEqual(placed, { id: placed.id, sku: "TEA-1", quantity: 2, totalCents: 900 }, "the order placed");
  assert.equal(first.headers.get("location"), `/orders/${String(placed.id)}`, "POST /orders: Location");
  assert.equal(await stockOf(db, "TEA-1"), 3, "an order takes its quantity from the stock");
  assert.deepEqual(
    await ordersFor(db, "TEA-1"),
    [{ key: "key-1", quantity: 2, totalCents: 900 }],
    "orders rows",
  );

  const retry = await api.order("key-1", order);
  assert.equal(retry.status, 201, "a retry with the same Idempotency-Key gets the original status");
  assert.deepEqual(retry.body, first.body, "a retry with the same Idempotency-Key gets the original body");
  assert.equal(await stockOf(db, "TEA-1"), 3, "a retry must not take stock again");
  assert.equal((await ordersFor(db, "TEA-1")).length, 1, "a retry must not store a second order");

  assertError(
    await api.order("key-1", { sku: "TEA-1", quantity: 3 }),
    422,
    "the same key with another quantity",
  );
  assertError(await api.order("key-1", { sku: "MUG-1", quantity: 2 }), 422, "the same key with another sku");
  assert.equal(await stockOf(db, "TEA-1"), 3, "a refused key reuse must not take stock");

  assertError(
    await api.order("key-2", { sku: "TEA-1", quantity: 4 }),
    409,
    "ordering more than the stock (3)",
  );
  assertError(await api.order("key-3", { sku: "NO-SUCH-SKU", quantity: 1 }), 404, "ordering an unknown sku");
  const invalid: [string, unknown][] = [
    ["quantity 0", { sku: "TEA-1", quantity: 0 }],
    ["a negative quantity", { sku: "TEA-1", quantity: -1 }],
    ["a fractional quantity", { sku: "TEA-1", quantity: 1.5 }],
    ["a quantity as a string", { sku: "TEA-1", quantity: "1" }],
    ["quantity 1001", { sku: "TEA-1", quantity: 1001 }],
    ["no sku", { quantity: 1 }],
  ];
  for (const [index, [what, body]] of invalid.entries()) {
    assertError(await api.order(`bad-${index}`, body), 400, `POST /orders with ${what}`);
  }
  assert.equal(await stockOf(db, "TEA-1"), 3, "refused orders must not take stock");
  assert.deepEqual(
    (await ordersFor(db, "TEA-1")).map((row) => row.key),
    ["key-1"],
    "refused orders must not leave rows in orders",
  );

  const rest = await api.order("key-4", { sku: "TEA-1", quantity: 3 });
  assert.equal(rest.status, 201, "ordering exactly the remaining stock succeeds");
  assert.equal(await stockOf(db, "TEA-1"), 0, "the stock can reach 0");
}

async function checkPagination(api: Api): Promise<void> {
  // Products so far: MUG-1, TEA-1 and 32 Zs. Six more make nine, a multiple of the page size 3.
  for (const sku of ["A-1", "A-10", "A-2", "B", "B-1", "C-9"]) {
    await api.post("/products", { sku, name: sku, priceCents: 100, stock: 1 });
  }
  const all = ["A-1", "A-10", "A-2", "B", "B-1", "C-9", "MUG-1", "TEA-1", "Z".repeat(32)];

  for (const limit of [3, 2, 9, 100]) {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 1; ; page++) {
      assert.ok(page <= 10, `limit=${limit}: following nextCursor must end`);
      const query: string = `/products?limit=${limit}${after === null ? "" : `&after=${encodeURIComponent(after)}`}`;
      const reply = await api.get(query);
      assert.equal(reply.status, 200, `GET ${query}`);
      const items = (reply.body?.items ?? []) as { sku: string }[];
      const nextCursor = reply.body?.nextCursor as string | null;
      assert.ok(items.length >= 1 && items.length <= limit, `GET ${query}: 1 to ${limit} items on a page`);
      seen.push(...items.map((item) => item.sku));
      if (nextCursor === null) break;
      after = nextCursor;
    }
    assert.deepEqual(seen, all, `limit=${limit}: the pages together hold every product once, sorted by sku`);
  }

  const first = await api.get("/products");
  assert.equal((first.body?.items as unknown[]).length, 9, "GET /products without limit: up to 20 items");
  assert.equal(first.body?.nextCursor, null, "GET /products: everything fits, so nextCursor is null");
  for (const limit of ["0", "101", "-1", "abc", "2.5"]) {
    assertError(await api.get(`/products?limit=${limit}`), 400, `GET /products?limit=${limit}`);
  }
}
