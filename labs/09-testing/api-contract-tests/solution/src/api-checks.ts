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
  await checkConcurrentOrders(api, db);
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
  assert.equal(
    retry.headers.get("idempotency-replayed"),
    "true",
    "a retry is marked Idempotency-Replayed: true",
  );
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
  const restAgain = await api.order("key-4", { sku: "TEA-1", quantity: 3 });
  assert.equal(restAgain.status, 201, "a retry of the order that took the last units still gets 201");
  assert.deepEqual(restAgain.body, rest.body, "a retry of the order that took the last units: its body");
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
      const cursor: string = after === null ? "" : `&after=${encodeURIComponent(after)}`;
      const query = `/products?limit=${limit}${cursor}`;
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

/** Database sessions of this database that wait for a lock. */
async function lockWaiters(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0]?.n ?? 0;
}

async function checkConcurrentOrders(api: Api, db: pg.Pool): Promise<void> {
  await api.post("/products", { sku: "RUSH-1", name: "Limited edition", priceCents: 5000, stock: 5 });
  // Ten orders for five units, all at once. Holding the product row locked while they start makes them
  // reach it together every time, instead of only when the timing happens to line up.
  const lock = await db.connect();
  let outcomes: PromiseSettledResult<Reply>[];
  try {
    await lock.query("BEGIN");
    await lock.query("SELECT stock FROM products WHERE sku = 'RUSH-1' FOR UPDATE");
    const orders = Array.from({ length: 10 }, (_, i) =>
      api.order(`rush-${i}`, { sku: "RUSH-1", quantity: 1 }),
    );
    const settled = Promise.allSettled(orders);
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && (await lockWaiters(db)) < orders.length) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await lock.query("COMMIT");
    outcomes = await settled;
  } finally {
    lock.release();
  }
  const statuses = outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value.status : 0));
  const count = (status: number) => statuses.filter((s) => s === status).length;
  assert.deepEqual(
    { created: count(201), outOfStock: count(409) },
    { created: 5, outOfStock: 5 },
    `10 concurrent orders of 1 for a stock of 5: exactly 5 succeed (statuses: ${statuses.join(", ")})`,
  );
  assert.equal(await stockOf(db, "RUSH-1"), 0, "after concurrent orders the stock is what was not sold");
  assert.equal((await ordersFor(db, "RUSH-1")).length, 5, "one orders row per unit sold");

  // A client that times out and retries while its first request is still being processed: the two
  // requests carry one Idempotency-Key and must come out as one order.
  await api.post("/products", { sku: "RUSH-2", name: "Second run", priceCents: 700, stock: 4 });
  const hold = await db.connect();
  let twice: PromiseSettledResult<Reply>[];
  try {
    await hold.query("BEGIN");
    await hold.query("SELECT stock FROM products WHERE sku = 'RUSH-2' FOR UPDATE");
    const both = [0, 1].map(() => api.order("rush-retry", { sku: "RUSH-2", quantity: 1 }));
    const settled = Promise.allSettled(both);
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && (await lockWaiters(db)) < both.length) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await hold.query("COMMIT");
    twice = await settled;
  } finally {
    hold.release();
  }
  const replies = twice.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : undefined));
  assert.deepEqual(
    replies.map((reply) => reply?.status),
    [201, 201],
    "an order and its retry sent while the first is in flight: both get 201",
  );
  assert.deepEqual(replies[0]?.body, replies[1]?.body, "an order and its in-flight retry: the same order");
  assert.equal(await stockOf(db, "RUSH-2"), 3, "an order and its in-flight retry take the stock once");
  assert.equal((await ordersFor(db, "RUSH-2")).length, 1, "an order and its in-flight retry: one orders row");
}
