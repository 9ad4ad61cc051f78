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
      headers,
      // A string goes as it is (a body that is not JSON); JSON.stringify(undefined) sends no body at all.
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    // The media type without its parameters: "application/json; charset=utf-8" is application/json too.
    const mediaType = String(response.headers.get("content-type")).split(";")[0];
    // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
    const what = `${method} ${path}: Content-Type must be application/json`;
    assert.equal(mediaType, "application/json", what);
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

/** The listed fields of a response body, whatever else it carries (a non-object body has none of them). */
function pick(body: Reply["body"], fields: string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((field) => [field, body?.[field]]));
}

const productFields = ["sku", "name", "priceCents", "stock"];
const orderFields = ["id", "sku", "quantity", "totalCents"];

function assertError(reply: Reply, status: number, what: string): void {
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.equal(reply.status, status, `${what}: status`);
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  const shape = `${what}: the body must be { "error": "<message>" }`;
  assert.equal(typeof reply.body?.error, "string", shape);
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

/** Names a body that must be refused, in assertion messages, so that a table of them needs no case names. */
function invalidBody(body: unknown): string {
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  return `the invalid body ${JSON.stringify(body)}`;
}

async function checkProducts(api: Api, db: pg.Pool): Promise<void> {
  const mug: ProductInput = { sku: "MUG-1", name: "Enamel mug", priceCents: 1200, stock: 5 };
  const created = await api.post("/products", mug);
  // Status, Location and the product's fields: one comparison, extra fields ignored.
  const answer = {
    status: created.status,
    location: created.headers.get("location"),
    ...pick(created.body, productFields),
  };
  const expected = { status: 201, location: `/products/${mug.sku}`, ...mug };
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.deepEqual(answer, expected, "POST /products with a valid product: 201, Location and the product");
  const { rows } = await db.query("SELECT sku, name, price_cents, stock FROM products WHERE sku = 'MUG-1'");
  const row = { sku: "MUG-1", name: "Enamel mug", price_cents: 1200, stock: 5 };
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.deepEqual(rows, [row], "the products row");

  const fetched = await api.get("/products/MUG-1");
  const product = { status: fetched.status, ...pick(fetched.body, productFields) };
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.deepEqual(product, { status: 200, ...mug }, "GET /products/MUG-1: 200 and the product");
  const unknown = await api.get("/products/NO-SUCH-SKU");
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assertError(unknown, 404, "GET of an unknown sku");

  const duplicate = await api.post("/products", { ...mug, name: "Impostor", stock: 99 });
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assertError(duplicate, 409, "POST /products with a sku that exists");
  const { rows: kept } = await db.query("SELECT name, stock FROM products WHERE sku = 'MUG-1'");
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.deepEqual(kept, [{ name: mug.name, stock: mug.stock }], "a refused duplicate changes nothing");

  // Each body breaks one rule, with a value just outside it or of the wrong type.
  const invalid: unknown[] = [
    "{ sku: MUG-2",
    null,
    { name: "Mug", priceCents: 100, stock: 1 },
    { ...mug, sku: "mug-2" },
    { ...mug, sku: "M".repeat(33) },
    { ...mug, sku: "MUG-2", name: "   " },
    { ...mug, sku: "MUG-2", name: "n".repeat(101) },
    { ...mug, sku: "MUG-2", priceCents: -1 },
    { ...mug, sku: "MUG-2", priceCents: 12.5 },
    { ...mug, sku: "MUG-2", priceCents: "1200" },
    { ...mug, sku: "MUG-2", stock: -1 },
    { ...mug, sku: "MUG-2", stock: 1_000_001 },
  ];
  for (const body of invalid) assertError(await api.post("/products", body), 400, invalidBody(body));
  const { rows: count } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM products");
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.equal(count[0]?.n, 1, "invalid products must not be stored");

  const edge: ProductInput = { sku: "Z".repeat(32), name: "n".repeat(100), priceCents: 0, stock: 0 };
  const atLimits = await api.post("/products", edge);
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.equal(atLimits.status, 201, "POST /products at the limits (32-char sku, 100-char name, 0, 0)");
}

async function checkOrders(api: Api, db: pg.Pool): Promise<void> {
  // An order without an Idempotency-Key, for a product of its own: were it placed, only this check sees it.
  const keyless = await api.order(undefined, { sku: "MUG-1", quantity: 1 });
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assertError(keyless, 400, "POST /orders without an Idempotency-Key");

  const tea = "TEA-1";
  await api.post("/products", { sku: tea, name: "Green tea", priceCents: 450, stock: 5 });
  const order = { sku: tea, quantity: 2 };
  // The stock and the orders rows after each step, compared with what the contract says at the end.
  const trace: { step: string; status: number | null; stock: number | undefined; rows: unknown[] }[] = [];
  const record = async (step: string, status: number | null) => {
    trace.push({ step, status, stock: await stockOf(db, tea), rows: await ordersFor(db, tea) });
  };

  const first = await api.order("key-1", order);
  const placed = pick(first.body, orderFields);
  const answer = { status: first.status, location: first.headers.get("location"), ...placed };
  const expected = {
    status: 201,
    location: `/orders/${String(placed.id)}`,
    ...placed,
    sku: tea,
    quantity: 2,
    totalCents: 900,
  };
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.deepEqual(answer, expected, "POST /orders: 201, Location and the order");
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.ok(Number.isInteger(placed.id), "an order's id is a number");
  await record("the order", first.status);

  const retry = await api.order("key-1", order);
  const replay = {
    status: retry.status,
    replayed: retry.headers.get("idempotency-replayed"),
    body: retry.body,
  };
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  const sameAnswer = "a retry with the same Idempotency-Key: 201, Idempotency-Replayed and the first body";
  assert.deepEqual(replay, { status: 201, replayed: "true", body: first.body }, sameAnswer);
  await record("its retry", retry.status);

  const otherQuantity = await api.order("key-1", { sku: tea, quantity: 3 });
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assertError(otherQuantity, 422, "the same key with another quantity");
  const otherSku = await api.order("key-1", { sku: "MUG-1", quantity: 2 });
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assertError(otherSku, 422, "the same key with another sku");
  await record("the key reused", null);

  const tooMany = await api.order("key-2", { sku: tea, quantity: 4 });
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assertError(tooMany, 409, "ordering more than the stock (3)");
  const unknownSku = await api.order("key-3", { sku: "NO-SUCH-SKU", quantity: 1 });
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assertError(unknownSku, 404, "ordering an unknown sku");
  // Each body breaks one rule, with a value just outside it or of the wrong type.
  const invalid: unknown[] = [
    { sku: tea, quantity: 0 },
    { sku: tea, quantity: -1 },
    { sku: tea, quantity: 1.5 },
    { sku: tea, quantity: "1" },
    { sku: tea, quantity: 1001 },
    { quantity: 1 },
  ];
  for (const [index, body] of invalid.entries()) {
    assertError(await api.order(`bad-${index}`, body), 400, invalidBody(body));
  }
  await record("the refused orders", null);

  const rest = await api.order("key-4", { sku: tea, quantity: 3 });
  await record("an order for exactly the stock left", rest.status);
  const restAgain = await api.order("key-4", { sku: tea, quantity: 3 });
  await record("the retry of the order that took the last units", restAgain.status);

  const one = { key: "key-1", quantity: 2, totalCents: 900 };
  const both = [one, { key: "key-4", quantity: 3, totalCents: 1350 }];
  assert.deepEqual(trace, [
    { step: "the order", status: 201, stock: 3, rows: [one] },
    { step: "its retry", status: 201, stock: 3, rows: [one] },
    { step: "the key reused", status: null, stock: 3, rows: [one] },
    { step: "the refused orders", status: null, stock: 3, rows: [one] },
    { step: "an order for exactly the stock left", status: 201, stock: 0, rows: both },
    { step: "the retry of the order that took the last units", status: 201, stock: 0, rows: both },
  ]);
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
      // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
      assert.ok(page <= 10, `limit=${limit}: following nextCursor must end`);
      const cursor: string = after === null ? "" : `&after=${encodeURIComponent(after)}`;
      const query = `/products?limit=${limit}${cursor}`;
      const reply = await api.get(query);
      const items = reply.body?.items as { sku: string }[];
      const nextCursor = reply.body?.nextCursor as string | null;
      // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
      assert.ok(items.length >= 1 && items.length <= limit, `GET ${query}: 1 to ${limit} items on a page`);
      seen.push(...items.map((item) => item.sku));
      if (nextCursor === null) break;
      after = nextCursor;
    }
    // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
    assert.deepEqual(seen, all, `limit=${limit}: the pages together hold every product once, sorted by sku`);
  }

  const first = await api.get("/products");
  const everything = { items: all, nextCursor: null };
  const firstPage = {
    items: (first.body?.items as { sku: string }[] | undefined)?.map((item) => item.sku),
    nextCursor: first.body?.nextCursor,
  };
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  assert.deepEqual(firstPage, everything, "GET /products without a limit (20): one page holds all nine");
  for (const limit of ["0", "101", "2.5"]) {
    const refused = await api.get(`/products?limit=${limit}`);
    // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
    assertError(refused, 400, `GET /products?limit=${limit}`);
  }
}

/** Database sessions of this database that wait for a lock. */
async function lockWaiters(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0]!.n;
}

async function checkConcurrentOrders(api: Api, db: pg.Pool): Promise<void> {
  const rush1 = "RUSH-1";
  await api.post("/products", { sku: rush1, name: "Limited edition", priceCents: 5000, stock: 5 });
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
  // Which status a refused order gets is checked one order at a time, above; here, how many were sold.
  const sold = {
    created: statuses.filter((status) => status === 201).length,
    stock: await stockOf(db, rush1),
    rows: (await ordersFor(db, rush1)).length,
  };
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  const race = `10 concurrent orders of 1 for a stock of 5: 5 sold (statuses: ${statuses.join(", ")})`;
  assert.deepEqual(sold, { created: 5, stock: 0, rows: 5 }, race);

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
  const [one, other] = twice.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : undefined));
  const rush2 = "RUSH-2";
  const once = {
    statuses: [one?.status, other?.status],
    sameOrder: other?.body,
    stock: await stockOf(db, rush2),
    rows: (await ordersFor(db, rush2)).length,
  };
  // Stryker disable next-line StringLiteral: an assertion message only labels a failure; it is not graded
  const inFlight = "an order and its retry sent while the first is in flight: two 201s, one order, one row";
  assert.deepEqual(once, { statuses: [201, 201], sameOrder: one?.body, stock: 3, rows: 1 }, inFlight);
}
