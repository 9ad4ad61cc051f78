// The module under test: a small inventory and ordering API over Postgres. Do not change it. Your checks
// in api-checks.ts reach it (or a hidden variant of it) over HTTP only; the contract is in the README.
import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from "node:http";
import type pg from "pg";

export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

export interface Order {
  id: number;
  sku: string;
  quantity: number;
  totalCents: number;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: OutgoingHttpHeaders;
}

/** A response decided anywhere below, written once by the listener. */
class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const skuPattern = /^[A-Z0-9-]{1,32}$/;
const uniqueViolation = "23505";
const defaultPageSize = 20;
const maxPageSize = 100;

/** The API as a node:http request listener over the given pool: `createServer(createInventoryApi(pool))`. */
export function createInventoryApi(db: pg.Pool): RequestListener {
  return (request, response) => {
    route(db, request).then(
      (reply) => send(response, reply),
      (error: unknown) => {
        if (error instanceof HttpError) {
          send(response, { status: error.status, body: { error: error.message } });
          return;
        }
        console.error("inventory API:", error);
        send(response, { status: 500, body: { error: "internal error" } });
      },
    );
  };
}

async function route(db: pg.Pool, request: IncomingMessage): Promise<Reply> {
  const url = new URL(request.url ?? "/", "http://inventory.invalid");
  const method = request.method ?? "GET";
  const productMatch = /^\/products\/([^/]+)$/.exec(url.pathname);
  if (url.pathname === "/products" && method === "POST") return createProduct(db, await readJson(request));
  if (url.pathname === "/products" && method === "GET") return listProducts(db, url.searchParams);
  if (productMatch && method === "GET") return getProduct(db, decodePathSegment(productMatch[1]!));
  if (url.pathname === "/orders" && method === "POST") {
    return placeOrder(db, request.headers["idempotency-key"], await readJson(request));
  }
  throw new HttpError(404, `no route for ${method} ${url.pathname}`);
}

async function createProduct(db: pg.Pool, body: unknown): Promise<Reply> {
  const input = requireObject(body);
  const { sku, name, priceCents, stock } = input;
  if (typeof sku !== "string" || !skuPattern.test(sku)) {
    throw new HttpError(400, "sku must be 1 to 32 characters of A-Z, 0-9 and -");
  }
  if (typeof name !== "string" || name.trim() === "" || name.length > 100) {
    throw new HttpError(400, "name must be a non-blank string of at most 100 characters");
  }
  if (!isIntegerIn(priceCents, 0, 100_000_000)) {
    throw new HttpError(400, "priceCents must be a whole number from 0 to 100000000");
  }
  if (!isIntegerIn(stock, 0, 1_000_000)) {
    throw new HttpError(400, "stock must be a whole number from 0 to 1000000");
  }
  try {
    await db.query("INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, $2, $3, $4)", [
      sku,
      name,
      priceCents,
      stock,
    ]);
  } catch (error) {
    if ((error as { code?: string }).code === uniqueViolation) {
      throw new HttpError(409, `a product with sku ${sku} already exists`);
    }
    throw error;
  }
  const product: Product = { sku, name, priceCents, stock };
  return { status: 201, body: product, headers: { location: `/products/${encodeURIComponent(sku)}` } };
}

interface ProductRow {
  sku: string;
  name: string;
  price_cents: number;
  stock: number;
}

const toProduct = (row: ProductRow): Product => ({
  sku: row.sku,
  name: row.name,
  priceCents: row.price_cents,
  stock: row.stock,
});

async function getProduct(db: pg.Pool, sku: string): Promise<Reply> {
  const { rows } = await db.query<ProductRow>(
    "SELECT sku, name, price_cents, stock FROM products WHERE sku = $1",
    [sku],
  );
  if (rows.length === 0) throw new HttpError(404, `no product with sku ${sku}`);
  return { status: 200, body: toProduct(rows[0]!) };
}

async function listProducts(db: pg.Pool, query: URLSearchParams): Promise<Reply> {
  const limitText = query.get("limit");
  const limit = limitText === null ? defaultPageSize : Number(limitText);
  if (limitText !== null && (!/^\d+$/.test(limitText) || !isIntegerIn(limit, 1, maxPageSize))) {
    throw new HttpError(400, `limit must be a whole number from 1 to ${maxPageSize}`);
  }
  const after = query.get("after");
  // One row more than the page: whether it exists says whether there is a next page.
  const { rows } = await db.query<ProductRow>(
    `SELECT sku, name, price_cents, stock FROM products
      WHERE $1::text IS NULL OR sku > $1
      ORDER BY sku
      LIMIT $2`,
    [after, limit + 1],
  );
  const items = rows.slice(0, limit).map(toProduct);
  const nextCursor = rows.length > limit ? items.at(-1)!.sku : null;
  return { status: 200, body: { items, nextCursor } };
}

interface OrderRow {
  id: string;
  sku: string;
  quantity: number;
  total_cents: string;
}

const toOrder = (row: OrderRow): Order => ({
  id: Number(row.id),
  sku: row.sku,
  quantity: row.quantity,
  totalCents: Number(row.total_cents),
});

async function placeOrder(
  db: pg.Pool,
  keyHeader: string | string[] | undefined,
  body: unknown,
): Promise<Reply> {
  const key = typeof keyHeader === "string" ? keyHeader : "";
  if (key.length < 1 || key.length > 100) {
    throw new HttpError(400, "an Idempotency-Key header of 1 to 100 characters is required");
  }
  const { sku, quantity } = requireObject(body);
  if (typeof sku !== "string" || !skuPattern.test(sku)) throw new HttpError(400, "sku is not a valid sku");
  if (!isIntegerIn(quantity, 1, 1000)) {
    throw new HttpError(400, "quantity must be a whole number from 1 to 1000");
  }

  const client = await db.connect();
  try {
    await client.query("BEGIN");
    // Locking the product first serialises orders for it, and with them any retry of the same order.
    const product = await client.query<{ price_cents: number; stock: number }>(
      "SELECT price_cents, stock FROM products WHERE sku = $1 FOR UPDATE",
      [sku],
    );
    const previous = await client.query<OrderRow>(
      "SELECT id, sku, quantity, total_cents FROM orders WHERE idempotency_key = $1",
      [key],
    );
    let reply: Reply;
    if (previous.rows[0]) {
      reply = replay(toOrder(previous.rows[0]), sku, quantity);
    } else {
      const row = product.rows[0];
      if (!row) throw new HttpError(404, `no product with sku ${sku}`);
      if (row.stock < quantity) throw new HttpError(409, `only ${row.stock} of ${sku} in stock`);
      await client.query("UPDATE products SET stock = stock - $2 WHERE sku = $1", [sku, quantity]);
      const inserted = await client.query<OrderRow>(
        `INSERT INTO orders (idempotency_key, sku, quantity, total_cents) VALUES ($1, $2, $3, $4)
         RETURNING id, sku, quantity, total_cents`,
        [key, sku, quantity, row.price_cents * quantity],
      );
      const order = toOrder(inserted.rows[0]!);
      reply = { status: 201, body: order, headers: { location: `/orders/${order.id}` } };
    }
    await client.query("COMMIT");
    return reply;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    // The same key sent concurrently for a different product: the unique index turned it away.
    if ((error as { code?: string }).code === uniqueViolation) {
      throw new HttpError(422, "this Idempotency-Key was already used for a different order");
    }
    throw error;
  } finally {
    client.release();
  }
}

/** A retry gets the original answer; the same key with a different order is refused. */
function replay(order: Order, sku: string, quantity: number): Reply {
  if (order.sku !== sku || order.quantity !== quantity) {
    throw new HttpError(422, "this Idempotency-Key was already used for a different order");
  }
  return {
    status: 201,
    body: order,
    headers: { location: `/orders/${order.id}`, "idempotency-replayed": "true" },
  };
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "the path is not valid percent-encoding");
  }
}

function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new HttpError(413, "the body must be at most 64 KiB");
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new HttpError(400, "the body is not valid JSON");
  }
}

function send(response: ServerResponse, { status, body, headers = {} }: Reply): void {
  response.writeHead(status, { ...headers, "content-type": "application/json" }).end(JSON.stringify(body));
}
