import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
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

/** What a route answers: a body plus the caching headers, and how to validate it. */
interface Resource {
  body: unknown;
  headers: Record<string, string>;
  etag: string;
  /** Whole-second modification time, when the resource has one. */
  lastModified?: Date;
  /** Whether the body may be gzip-compressed for clients that accept it. */
  compressible?: boolean;
}

const productJson = (row: ProductRow) => ({
  id: row.id,
  name: row.name,
  priceCents: row.price_cents,
  updatedAt: row.updated_at.toISOString(),
});

/** A digest of the parts, each length-prefixed so that ("ab","c") and ("a","bc") differ. */
function digest(...parts: (string | number)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    const text = String(part);
    hash.update(`${text.length}:${text};`);
  }
  return hash.digest("base64url").slice(0, 27);
}

async function product(id: string): Promise<Resource> {
  const { rows } = await pool.query<ProductRow>(
    "SELECT id, name, price_cents, version, updated_at FROM products WHERE id = $1",
    [id],
  );
  const row = rows[0];
  if (!row) throw new HttpError(404, `product ${id} not found`);
  return {
    body: productJson(row),
    headers: { "Cache-Control": "public, max-age=60" },
    // The trigger bumps version on every UPDATE, so (id, version) changes with every change.
    etag: `"p-${digest("product", row.id, row.version)}"`,
    lastModified: row.updated_at,
  };
}

async function productList(): Promise<Resource> {
  const { rows } = await pool.query<ProductRow>(
    "SELECT id, name, price_cents, version, updated_at FROM products ORDER BY id",
  );
  // A fingerprint of every (id, version): changes when any row changes, appears or disappears.
  const fingerprint = digest("list", rows.length, ...rows.flatMap((row) => [row.id, row.version]));
  return {
    body: rows.map(productJson),
    headers: { "Cache-Control": "public, max-age=30", Vary: "Accept-Encoding" },
    // Weak: the gzip and identity encodings are equivalent but not byte-identical, so they share
    // one weak validator instead of claiming identical bytes.
    etag: `W/"l-${fingerprint}"`,
    compressible: true,
  };
}

async function account(request: IncomingMessage): Promise<Resource> {
  const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
  const { rows } = token
    ? await pool.query<AccountRow>(
        "SELECT id, email, display_name, version FROM accounts WHERE api_token = $1",
        [token],
      )
    : { rows: [] };
  const row = rows[0];
  if (!row) {
    throw new HttpError(401, "a valid bearer token is required", {
      "WWW-Authenticate": "Bearer",
      Vary: "Authorization",
    });
  }
  return {
    body: { id: row.id, email: row.email, displayName: row.display_name },
    headers: { "Cache-Control": "private, no-cache", Vary: "Authorization" },
    // The account id is part of the tag: two users at the same version never share one.
    etag: `"a-${digest("account", row.id, row.version)}"`,
  };
}

/** The opaque part of an entity tag, without W/ (weak comparison). */
function opaque(tag: string): string {
  return tag.trim().replace(/^W\//, "");
}

/** Splits an If-None-Match list, keeping commas inside quoted tags. */
function parseTagList(header: string): string[] {
  return header.match(/(?:W\/)?"[^"]*"|\*/g) ?? [];
}

function isNotModified(request: IncomingMessage, resource: Resource): boolean {
  const ifNoneMatch = request.headers["if-none-match"];
  if (ifNoneMatch !== undefined) {
    // When present, If-None-Match alone decides (RFC 9110, 13.2.2).
    const tags = parseTagList(ifNoneMatch);
    if (tags.includes("*")) return true;
    const current = opaque(resource.etag);
    return tags.some((tag) => opaque(tag) === current);
  }
  const ifModifiedSince = request.headers["if-modified-since"];
  if (ifModifiedSince !== undefined && resource.lastModified) {
    const since = Date.parse(ifModifiedSince);
    if (Number.isNaN(since)) return false;
    const modifiedSeconds = Math.floor(resource.lastModified.getTime() / 1000);
    const sinceSeconds = Math.floor(since / 1000);
    return modifiedSeconds <= sinceSeconds;
  }
  return false;
}

/** Whether Accept-Encoding allows gzip (q > 0 on gzip, or on * when gzip is not listed). */
function acceptsGzip(request: IncomingMessage): boolean {
  const header = request.headers["accept-encoding"];
  if (!header) return false;
  let gzip: number | undefined;
  let star: number | undefined;
  for (const part of header.split(",")) {
    const [name = "", ...params] = part.split(";").map((piece) => piece.trim());
    let q = 1;
    for (const param of params) {
      const match = /^q=([0-9.]+)$/i.exec(param);
      if (match) q = Number(match[1]);
    }
    if (Number.isNaN(q)) q = 0;
    const coding = name.toLowerCase();
    if (coding === "gzip" || coding === "x-gzip") gzip = Math.max(gzip ?? 0, q);
    else if (coding === "*") star = q;
  }
  if (gzip !== undefined) return gzip > 0;
  return star !== undefined && star > 0;
}

function send(request: IncomingMessage, response: ServerResponse, resource: Resource): void {
  const headers: Record<string, string> = { ...resource.headers, ETag: resource.etag };
  if (resource.lastModified) headers["Last-Modified"] = resource.lastModified.toUTCString();
  if (isNotModified(request, resource)) {
    response.writeHead(304, headers).end();
    return;
  }
  let bytes = Buffer.from(JSON.stringify(resource.body));
  if (resource.compressible && acceptsGzip(request)) {
    bytes = gzipSync(bytes);
    headers["Content-Encoding"] = "gzip";
  }
  response
    .writeHead(200, {
      ...headers,
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": String(bytes.length),
    })
    .end(bytes);
}

function sendError(response: ServerResponse, error: HttpError): void {
  response
    .writeHead(error.status, {
      ...error.headers,
      "Cache-Control": "no-store",
      "Content-Type": "application/json; charset=utf-8",
    })
    .end(JSON.stringify({ error: error.message }));
}

async function route(request: IncomingMessage): Promise<Resource> {
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
    .then((resource) => send(request, response, resource))
    .catch((error: unknown) => {
      if (error instanceof HttpError) return sendError(response, error);
      console.error(error);
      sendError(response, new HttpError(500, "internal error"));
    });
});

server.listen(Number(process.env.PORT));
