import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import pg from "pg";

const connectionString = process.env.DATABASE_URL;
if (!connectionString) throw new Error("DATABASE_URL is not set");
const pool = new pg.Pool({ connectionString });
// An idle connection that breaks is reported here; unhandled, it kills the process.
pool.on("error", (error) => console.error("postgres pool error:", error.message));

interface ProductRow {
  id: string;
  name: string;
  price_cents: number;
  version: number;
  updated_at: Date;
}

interface AccountRow {
  id: string;
  email: string;
  display_name: string;
  version: number;
}

class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

const productJson = (row: ProductRow) => ({
  id: row.id,
  name: row.name,
  priceCents: row.price_cents,
  updatedAt: row.updated_at.toISOString(),
});

// TODO 1: Cache-Control, ETag (from the row's version) and Last-Modified on every product.
// TODO 2: answer If-None-Match / If-Modified-Since with 304 when the client's copy is still current.
// TODO 3: the list: its own ETag, gzip when the client accepts it, and Vary.
// TODO 4: the account: private, and never mixed up between users.

async function product(id: string): Promise<unknown> {
  const { rows } = await pool.query<ProductRow>(
    "SELECT id, name, price_cents, version, updated_at FROM products WHERE id = $1",
    [id],
  );
  const row = rows[0];
  if (!row) throw new HttpError(404, `product ${id} not found`);
  return productJson(row);
}

async function productList(): Promise<unknown> {
  const { rows } = await pool.query<ProductRow>(
    "SELECT id, name, price_cents, version, updated_at FROM products ORDER BY id",
  );
  return rows.map(productJson);
}

async function account(request: IncomingMessage): Promise<unknown> {
  const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
  const { rows } = token
    ? await pool.query<AccountRow>(
        "SELECT id, email, display_name, version FROM accounts WHERE api_token = $1",
        [token],
      )
    : { rows: [] };
  const row = rows[0];
  if (!row) {
    throw new HttpError(401, "a valid bearer token is required", { "WWW-Authenticate": "Bearer" });
  }
  return { id: row.id, email: row.email, displayName: row.display_name };
}

function sendJson(response: ServerResponse, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  response
    .writeHead(200, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": String(bytes.length),
    })
    .end(bytes);
}

function sendError(response: ServerResponse, error: HttpError): void {
  response
    .writeHead(error.status, { ...error.headers, "Content-Type": "application/json; charset=utf-8" })
    .end(JSON.stringify({ error: error.message }));
}

async function route(request: IncomingMessage): Promise<unknown> {
  const { pathname } = new URL(request.url ?? "/", "http://localhost");
  const known = pathname === "/products" || pathname === "/account" || /^\/products\/[^/]+$/.test(pathname);
  if (!known) throw new HttpError(404, `no route for ${pathname}`);
  if (request.method !== "GET" && request.method !== "HEAD") {
    throw new HttpError(405, `${request.method} is not allowed here`, { Allow: "GET, HEAD" });
  }
  if (pathname === "/products") return productList();
  if (pathname === "/account") return account(request);
  let id: string;
  try {
    id = decodeURIComponent(pathname.slice("/products/".length));
  } catch {
    throw new HttpError(400, "malformed product id");
  }
  return product(id);
}

const server = createServer((request, response) => {
  route(request)
    .then((body) => sendJson(response, body))
    .catch((error: unknown) => {
      if (error instanceof HttpError) return sendError(response, error);
      console.error(error);
      sendError(response, new HttpError(500, "internal error"));
    });
});

server.listen(Number(process.env.PORT));
