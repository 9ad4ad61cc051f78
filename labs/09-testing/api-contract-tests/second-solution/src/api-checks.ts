// Contract checks, table-driven. Each rule of the contract is a row in a table of requests with the
// answer it must get; every refused request is wrapped in a before/after snapshot of both tables, and
// concurrent orders are lined up behind a table lock held by the checks' own transaction.
import assert from "node:assert/strict";
import type pg from "pg";

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

interface Send {
  method: "GET" | "POST";
  path: string;
  /** A value to JSON-encode, or raw text when `raw` is set. */
  json?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

type Row = Record<string, unknown>;

const productFields = ["sku", "name", "priceCents", "stock"] as const;
const orderFields = ["id", "sku", "quantity", "totalCents"] as const;

export async function checkApi(baseUrl: string, db: pg.Pool): Promise<void> {
  const send = async (request: Send): Promise<Answer> => {
    const init: RequestInit = { method: request.method, headers: { ...request.headers } };
    if (request.raw !== undefined || request.json !== undefined) {
      init.body = request.raw ?? JSON.stringify(request.json);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const response = await fetch(baseUrl + request.path, init);
    const text = await response.text();
    const label = `${request.method} ${request.path}`;
    const type = response.headers.get("content-type") ?? "";
    assert.match(
      type,
      /^application\/json\s*(;|$)/i,
      `${label}: Content-Type must be application/json (got ${JSON.stringify(type)})`,
    );
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      assert.fail(`${label}: the body must be JSON, got ${JSON.stringify(text.slice(0, 200))}`);
    }
    return { status: response.status, headers: response.headers, body, text };
  };

  /** Only the fields the contract names: extra fields are allowed and ignored. */
  const pick = (value: unknown, fields: readonly string[]): Row => {
    assert.ok(
      typeof value === "object" && value !== null && !Array.isArray(value),
      `expected a JSON object, got ${JSON.stringify(value)}`,
    );
    const source = value as Row;
    return Object.fromEntries(fields.map((field) => [field, source[field]]));
  };

  const expectStatus = (answer: Answer, status: number, label: string): void => {
    assert.equal(answer.status, status, `${label}: expected ${status}, got ${answer.status} ${answer.text}`);
    if (status >= 400) {
      const error = (answer.body as Row | null)?.error;
      assert.equal(typeof error, "string", `${label}: an error body must carry an "error" string`);
    }
  };

  /** Both tables as the checks see them, in a stable order, for before/after comparisons. */
  const snapshot = async (): Promise<string> => {
    const products = await db.query(
      'SELECT sku, name, price_cents, stock FROM products ORDER BY sku COLLATE "C"',
    );
    const orders = await db.query(
      "SELECT id::text, idempotency_key, sku, quantity, total_cents::text FROM orders ORDER BY id",
    );
    return JSON.stringify({ products: products.rows, orders: orders.rows });
  };

  /** Sends a request that must be refused with `status`, and proves that no table changed. */
  const refused = async (request: Send, status: number, label: string): Promise<void> => {
    const before = await snapshot();
    const answer = await send(request);
    expectStatus(answer, status, label);
    assert.equal(await snapshot(), before, `${label}: a refused request must change nothing in the tables`);
  };

  const storedProduct = async (sku: string): Promise<Row | undefined> => {
    const { rows } = await db.query<{ sku: string; name: string; price_cents: number; stock: number }>(
      "SELECT sku, name, price_cents, stock FROM products WHERE sku = $1",
      [sku],
    );
    const row = rows[0];
    return row && { sku: row.sku, name: row.name, priceCents: row.price_cents, stock: row.stock };
  };

  const createProduct = async (product: Row, label = "POST /products"): Promise<void> => {
    const answer = await send({ method: "POST", path: "/products", json: product });
    expectStatus(answer, 201, `${label} ${JSON.stringify(product).slice(0, 80)}`);
    const expected = pick(product, productFields);
    assert.equal(answer.headers.get("location"), `/products/${String(product.sku)}`, `${label}: Location`);
    assert.deepEqual(pick(answer.body, productFields), expected, `${label}: the body is the product`);
    assert.deepEqual(await storedProduct(String(product.sku)), expected, `${label}: the stored row`);
  };

  let keys = 0;
  const newKey = (): string => `key-${++keys}-${Math.random().toString(36).slice(2)}`;

  const order = (sku: unknown, quantity: unknown, key: string | undefined): Send => ({
    method: "POST",
    path: "/orders",
    json: { sku, quantity },
    headers: key === undefined ? {} : { "idempotency-key": key },
  });

  const ordersWithKey = async (key: string): Promise<Row[]> =>
    (
      await db.query(
        "SELECT id::text AS id, sku, quantity, total_cents::text AS total FROM orders WHERE idempotency_key = $1",
        [key],
      )
    ).rows as Row[];

  /** Places an order that must succeed, and checks the answer and both tables. */
  interface Placed {
    body: Row;
    key: string;
  }
  const placeOrder = async (
    sku: string,
    quantity: number,
    price: number,
    key = newKey(),
  ): Promise<Placed> => {
    const stockBefore = (await storedProduct(sku))?.stock as number;
    const answer = await send(order(sku, quantity, key));
    const label = `POST /orders ${sku} x${quantity}`;
    expectStatus(answer, 201, label);
    const body = pick(answer.body, orderFields);
    assert.equal(typeof body.id, "number", `${label}: the order id must be a JSON number`);
    assert.deepEqual(
      { ...body, id: 0 },
      { id: 0, sku, quantity, totalCents: price * quantity },
      `${label}: the order body (totalCents = price x quantity)`,
    );
    assert.equal(answer.headers.get("location"), `/orders/${String(body.id)}`, `${label}: Location`);
    assert.equal((await storedProduct(sku))?.stock, stockBefore - quantity, `${label}: stock must drop`);
    assert.deepEqual(
      await ordersWithKey(key),
      [{ id: String(body.id), sku, quantity, total: String(price * quantity) }],
      `${label}: exactly one orders row with this key, the answer's id, sku, quantity and total`,
    );
    return { body, key };
  };

  // ---------------------------------------------------------------- listing an empty catalogue
  const empty = await send({ method: "GET", path: "/products" });
  expectStatus(empty, 200, "GET /products on empty tables");
  assert.deepEqual(
    pick(empty.body, ["items", "nextCursor"]),
    { items: [], nextCursor: null },
    "GET /products on empty tables",
  );

  // ---------------------------------------------------------------- products: accepted values
  const accepted: Row[] = [
    { sku: "MUG-1", name: "Enamel mug", priceCents: 1200, stock: 5 },
    { sku: "Z", name: "x", priceCents: 0, stock: 0 },
    { sku: "A".repeat(32), name: "n".repeat(100), priceCents: 100_000_000, stock: 1_000_000 },
    { sku: "0-9-AZ", name: "  padded  ", priceCents: 1, stock: 1, colour: "ignored" },
  ];
  for (const product of accepted) await createProduct(product, "a valid product");

  const getMug = await send({ method: "GET", path: "/products/MUG-1" });
  expectStatus(getMug, 200, "GET /products/MUG-1");
  assert.deepEqual(pick(getMug.body, productFields), pick(accepted[0], productFields), "GET /products/MUG-1");
  await refused({ method: "GET", path: "/products/NO-SUCH-SKU" }, 404, "GET of an unknown sku");

  // ---------------------------------------------------------------- products: refused values
  const valid = { sku: "NEW-1", name: "New", priceCents: 100, stock: 3 };
  const badProductBodies: [string, unknown][] = [
    ["sku empty", { ...valid, sku: "" }],
    ["sku of 33 characters", { ...valid, sku: "B".repeat(33) }],
    ["sku in lower case", { ...valid, sku: "new-1" }],
    ["sku with a space", { ...valid, sku: "NEW 1" }],
    ["sku with an underscore", { ...valid, sku: "NEW_1" }],
    ["sku a number", { ...valid, sku: 123 }],
    ["sku missing", { name: "New", priceCents: 100, stock: 3 }],
    ["name empty", { ...valid, name: "" }],
    ["name blank", { ...valid, name: " \t " }],
    ["name of 101 characters", { ...valid, name: "n".repeat(101) }],
    ["name a number", { ...valid, name: 5 }],
    ["name missing", { sku: "NEW-1", priceCents: 100, stock: 3 }],
    ["priceCents negative", { ...valid, priceCents: -1 }],
    ["priceCents above the maximum", { ...valid, priceCents: 100_000_001 }],
    ["priceCents fractional", { ...valid, priceCents: 1.5 }],
    ["priceCents a string", { ...valid, priceCents: "12" }],
    ["priceCents null", { ...valid, priceCents: null }],
    ["priceCents missing", { sku: "NEW-1", name: "New", stock: 3 }],
    ["stock negative", { ...valid, stock: -1 }],
    ["stock above the maximum", { ...valid, stock: 1_000_001 }],
    ["stock fractional", { ...valid, stock: 0.5 }],
    ["stock a string", { ...valid, stock: "3" }],
    ["stock missing", { sku: "NEW-1", name: "New", priceCents: 100 }],
  ];
  const badProducts = badProductBodies.map(([label, json]): [string, Send] => [
    label,
    { method: "POST", path: "/products", json },
  ]);
  badProducts.push(
    ["body not JSON", { method: "POST", path: "/products", raw: "{sku: NEW-1" }],
    ["body an array", { method: "POST", path: "/products", json: [valid] }],
    ["body a string", { method: "POST", path: "/products", json: "NEW-1" }],
    ["body null", { method: "POST", path: "/products", raw: "null" }],
  );
  for (const [label, request] of badProducts) {
    await refused(request, 400, `POST /products with ${label}`);
  }

  await refused(
    { method: "POST", path: "/products", json: { sku: "MUG-1", name: "Other", priceCents: 1, stock: 99 } },
    409,
    "POST /products with an existing sku",
  );
  assert.deepEqual(
    await storedProduct("MUG-1"),
    pick(accepted[0], productFields),
    "a duplicate sku must leave the existing product unchanged",
  );

  // ---------------------------------------------------------------- listing: order and pages
  // Skus whose byte order differs from a human (locale) order: '-' < digits < letters.
  for (const sku of ["A-2", "A1", "A10", "A9", "B", "B-", "AB", "9Z", "-X"]) {
    await createProduct({ sku, name: `p ${sku}`, priceCents: 10, stock: 1 });
  }
  const all = (await db.query<{ sku: string }>("SELECT sku FROM products")).rows.map((r) => r.sku).sort();
  const listed = new Map<string, Row>();
  for (const row of (
    await db.query<{ sku: string; name: string; price_cents: number; stock: number }>(
      "SELECT sku, name, price_cents, stock FROM products",
    )
  ).rows) {
    listed.set(row.sku, { sku: row.sku, name: row.name, priceCents: row.price_cents, stock: row.stock });
  }

  const walk = async (limit: number | undefined): Promise<void> => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const params = new URLSearchParams();
      if (limit !== undefined) params.set("limit", String(limit));
      if (after !== null) params.set("after", after);
      const path = `/products${params.size ? `?${params}` : ""}`;
      const answer = await send({ method: "GET", path });
      expectStatus(answer, 200, `GET ${path}`);
      const { items, nextCursor } = pick(answer.body, ["items", "nextCursor"]);
      assert.ok(Array.isArray(items), `GET ${path}: items must be an array`);
      assert.ok(items.length > 0, `GET ${path}: no page may be empty while products exist`);
      assert.ok(items.length <= (limit ?? 20), `GET ${path}: at most ${limit ?? 20} items on a page`);
      for (const item of items) {
        const product = pick(item, productFields);
        assert.deepEqual(product, listed.get(String(product.sku)), `GET ${path}: each item is the product`);
        seen.push(String(product.sku));
      }
      if (nextCursor === null) {
        assert.deepEqual(seen, all, `walking pages of ${limit ?? "default"}: every sku once, in byte order`);
        return;
      }
      assert.equal(typeof nextCursor, "string", `GET ${path}: nextCursor must be null or a string`);
      after = nextCursor as string;
    }
    assert.fail(`walking pages of ${limit ?? "default"} never reached nextCursor null`);
  };
  // 13 products: pages that divide it exactly (1, 13) and that do not (2, 3, 4, 5, 12), the default, 100.
  for (const limit of [1, 2, 3, 4, 5, 12, 13, 100, undefined]) await walk(limit);

  const afterGiven = await send({ method: "GET", path: "/products?after=A9&limit=100" });
  expectStatus(afterGiven, 200, "GET /products?after=A9");
  assert.deepEqual(
    ((afterGiven.body as Row).items as Row[]).map((item) => item.sku),
    all.filter((sku) => sku > "A9"),
    "GET /products?after=A9 lists only skus greater than A9",
  );

  for (const limit of ["0", "101", "-1", "1.5", "abc", "", "1e1", " 5", "0x10", "5abc"]) {
    await refused(
      { method: "GET", path: `/products?limit=${encodeURIComponent(limit)}` },
      400,
      `GET /products?limit=${JSON.stringify(limit)}`,
    );
  }

  // More products than the default page holds: the default must be 20.
  for (let i = 0; i < 12; i++) {
    await createProduct({ sku: `M-${String(i).padStart(2, "0")}`, name: "m", priceCents: 1, stock: 1 });
  }
  const firstDefault = await send({ method: "GET", path: "/products" });
  expectStatus(firstDefault, 200, "GET /products with 25 products");
  const firstDefaultBody = firstDefault.body as Row;
  const firstDefaultItems = firstDefaultBody.items as Row[];
  assert.ok(
    firstDefaultItems.length >= 1 && firstDefaultItems.length <= 20,
    `without limit a page holds at most 20 products, got ${firstDefaultItems.length}`,
  );
  assert.equal(typeof firstDefaultBody.nextCursor, "string", "25 products do not fit one default page");

  // ---------------------------------------------------------------- orders
  await createProduct({ sku: "TEA", name: "Tea", priceCents: 250, stock: 10 });
  await createProduct({ sku: "COFFEE", name: "Coffee", priceCents: 999, stock: 1000 });
  await createProduct({ sku: "GOLD", name: "Gold", priceCents: 100_000_000, stock: 1000 });
  // Enough stock that a quantity above 1000 can only be refused by validation, not by the stock.
  await createProduct({ sku: "BULK", name: "Bulk", priceCents: 1, stock: 1_000_000 });

  const first = await placeOrder("TEA", 3, 250);
  const second = await placeOrder("TEA", 1, 250);
  assert.notEqual(first.body.id, second.body.id, "two orders must get different ids");
  await placeOrder("COFFEE", 1000, 999, "k".repeat(100));
  await placeOrder("GOLD", 1000, 100_000_000);

  // A retry of an order that succeeded: the same answer, nothing moves.
  const retry = async (original: Placed, sku: string, quantity: number): Promise<void> => {
    const before = await snapshot();
    const answer = await send(order(sku, quantity, original.key));
    const label = `a retry of order ${String(original.body.id)} (same Idempotency-Key, same sku and quantity)`;
    expectStatus(answer, 201, label);
    assert.deepEqual(
      pick(answer.body, orderFields),
      original.body,
      `${label}: the same body as the first answer`,
    );
    assert.equal(answer.headers.get("idempotency-replayed"), "true", `${label}: Idempotency-Replayed: true`);
    assert.equal(await snapshot(), before, `${label}: no stock moves and no second row`);
  };
  await retry(first, "TEA", 3);
  await retry(first, "TEA", 3);
  await retry(second, "TEA", 1);

  // The same key for a different order.
  await refused(order("TEA", 4, first.key), 422, "the same Idempotency-Key with another quantity");
  await refused(order("BULK", 3, first.key), 422, "the same Idempotency-Key with another sku");

  // Invalid orders.
  const badOrders: [string, Send][] = [
    ["no Idempotency-Key", order("TEA", 1, undefined)],
    ["an empty Idempotency-Key", order("TEA", 1, "")],
    ["an Idempotency-Key of 101 characters", order("TEA", 1, "k".repeat(101))],
    ["quantity 0", order("TEA", 0, newKey())],
    ["quantity -1", order("TEA", -1, newKey())],
    ["quantity 1001", order("BULK", 1001, newKey())],
    ["quantity 1.5", order("TEA", 1.5, newKey())],
    ['quantity "2"', order("TEA", "2", newKey())],
    ["quantity null", order("TEA", null, newKey())],
    ["sku a number", order(7, 1, newKey())],
    [
      "sku missing",
      { method: "POST", path: "/orders", json: { quantity: 1 }, headers: { "idempotency-key": newKey() } },
    ],
    [
      "quantity missing",
      { method: "POST", path: "/orders", json: { sku: "TEA" }, headers: { "idempotency-key": newKey() } },
    ],
    [
      "a body that is not JSON",
      { method: "POST", path: "/orders", raw: "{", headers: { "idempotency-key": newKey() } },
    ],
    [
      "a body that is an array",
      {
        method: "POST",
        path: "/orders",
        json: [{ sku: "TEA", quantity: 1 }],
        headers: { "idempotency-key": newKey() },
      },
    ],
  ];
  for (const [label, request] of badOrders) await refused(request, 400, `POST /orders with ${label}`);

  await refused(order("NO-SUCH-SKU", 1, newKey()), 404, "an order for an unknown sku");

  // Stock: TEA has 6 left. One more than the stock is refused; exactly the stock is sold.
  const refusedKey = newKey();
  await refused(order("TEA", 7, refusedKey), 409, "an order of 7 when 6 are in stock");
  await refused(order("TEA", 1000, newKey()), 409, "an order of 1000 when 6 are in stock");
  // A refused order stored nothing, so its key is free for a real order.
  const sellout = await placeOrder("TEA", 6, 250, refusedKey);
  // A retry of the order that took the last units is still that order, not a stock conflict.
  await retry(sellout, "TEA", 6);
  await refused(order("TEA", 1, newKey()), 409, "an order when the stock is 0");
  await refused(order("Z", 1, newKey()), 409, "an order for a product created with stock 0");

  // ---------------------------------------------------------------- concurrent orders
  /**
   * Holds every product row behind a table lock in the checks' own transaction, sends the requests
   * together, waits until Postgres shows each of them queued on a lock (or answered), then commits, so
   * that they all run into each other on release, however fast the machine is.
   */
  const together = async (requests: Send[]): Promise<Answer[]> => {
    const holder = await db.connect();
    let answers: Promise<PromiseSettledResult<Answer>[]> | undefined;
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE products IN EXCLUSIVE MODE");
      let settled = 0;
      answers = Promise.allSettled(
        requests.map((request) =>
          send(request).finally(() => {
            settled++;
          }),
        ),
      );
      const holderPid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const deadline = Date.now() + 5000;
      for (;;) {
        const { rows } = await db.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> $1 AND wait_event_type = 'Lock'`,
          [holderPid],
        );
        if (rows[0]!.waiting + settled >= requests.length || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await holder.query("COMMIT");
    } catch (error) {
      await holder.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      holder.release();
    }
    const outcomes = await answers;
    return outcomes.map((outcome) => {
      if (outcome.status === "rejected") throw outcome.reason;
      return outcome.value;
    });
  };

  // Two units left, three orders of one at the same time: two sold, one refused.
  await createProduct({ sku: "LAST", name: "Last units", priceCents: 40, stock: 2 });
  const keysRace = [newKey(), newKey(), newKey()];
  const race = await together(keysRace.map((key) => order("LAST", 1, key)));
  const statuses = race.map((answer) => answer.status).sort();
  assert.deepEqual(
    statuses,
    [201, 201, 409],
    `three concurrent orders of 1 for the last 2 units: expected two 201 and one 409, got ${statuses.join(", ")}`,
  );
  assert.equal(
    (await storedProduct("LAST"))?.stock,
    0,
    "concurrent orders: stock must end at 0, never below",
  );
  const raceRows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE sku = 'LAST'");
  assert.equal(raceRows.rows[0]!.n, 2, "concurrent orders: one orders row per successful order");

  // The same order sent twice at once (a client retrying before the first answer): one order.
  await createProduct({ sku: "TWICE", name: "Twice", priceCents: 70, stock: 5 });
  const twiceKey = newKey();
  const twice = await together([order("TWICE", 2, twiceKey), order("TWICE", 2, twiceKey)]);
  for (const answer of twice) expectStatus(answer, 201, "the same order sent twice at once");
  assert.deepEqual(
    pick(twice[0]!.body, orderFields),
    pick(twice[1]!.body, orderFields),
    "the same order sent twice at once: both answers are the one order",
  );
  assert.equal(
    (await storedProduct("TWICE"))?.stock,
    3,
    "the same order sent twice at once: stock drops once",
  );
  assert.equal((await ordersWithKey(twiceKey)).length, 1, "the same order sent twice at once: one row");
}
