import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import pg from "pg";

/** The table is described in the README (fixtures/schema.sql). */
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is reported here; unhandled, it would kill the process.
pool.on("error", (error) => console.error("postgres pool error:", error.message));

interface DocumentRow {
  id: string;
  title: string;
  body: string;
  version: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COLLECTION_ALLOW = "POST";
const ITEM_ALLOW = "GET, HEAD, PUT, DELETE";

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  response
    .writeHead(status, {
      ...headers,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    })
    .end(text);
}

function sendError(
  response: ServerResponse,
  status: number,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  sendJson(response, status, { error: message }, headers);
}

function etagOf(version: number): string {
  return `"${version}"`;
}

function toDocument(row: DocumentRow): DocumentRow {
  return { id: row.id, title: row.title, body: row.body, version: row.version };
}

/** The request body as text. */
async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** Parses `*` or a comma-separated list of entity-tags. Returns "*" or the tags (malformed items are skipped). */
function parseEntityTags(header: string): "*" | EntityTag[] {
  if (header.trim() === "*") return "*";
  const tags: EntityTag[] = [];
  const pattern = /(W\/)?"([^"]*)"/g;
  for (const match of header.matchAll(pattern)) {
    tags.push({ weak: match[1] !== undefined, opaque: match[2] ?? "" });
  }
  return tags;
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(", ") : value;
}

function isJsonContentType(request: IncomingMessage): boolean {
  const contentType = request.headers["content-type"];
  if (typeof contentType !== "string") return false;
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase();
  return mediaType === "application/json";
}

type BodyResult = { ok: true; title: string; body: string } | { ok: false; status: number; message: string };

async function readDocumentInput(request: IncomingMessage): Promise<BodyResult> {
  if (!isJsonContentType(request)) {
    return { ok: false, status: 415, message: "Content-Type must be application/json" };
  }
  const text = await readBody(request);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, status: 400, message: "request body is not valid JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, status: 400, message: "request body must be a JSON object" };
  }
  const { title, body } = parsed as Record<string, unknown>;
  if (typeof title !== "string") return { ok: false, status: 400, message: "title must be a string" };
  const titleLength = [...title].length;
  if (titleLength < 1 || titleLength > 200) {
    return { ok: false, status: 400, message: "title must be 1 to 200 characters" };
  }
  if (typeof body !== "string") return { ok: false, status: 400, message: "body must be a string" };
  return { ok: true, title, body };
}

async function createDocument(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const input = await readDocumentInput(request);
  if (!input.ok) return sendError(response, input.status, input.message);
  const { rows } = await pool.query<DocumentRow>(
    "insert into documents (title, body) values ($1, $2) returning id, title, body, version",
    [input.title, input.body],
  );
  const row = rows[0]!;
  sendJson(response, 201, toDocument(row), { location: `/documents/${row.id}`, etag: etagOf(row.version) });
}

async function readDocument(request: IncomingMessage, response: ServerResponse, id: string): Promise<void> {
  const { rows } = await pool.query<DocumentRow>(
    "select id, title, body, version from documents where id = $1",
    [id],
  );
  const row = rows[0];
  if (!row) return sendError(response, 404, "document not found");
  const etag = etagOf(row.version);
  const ifNoneMatch = headerValue(request, "if-none-match");
  if (ifNoneMatch !== undefined) {
    const tags = parseEntityTags(ifNoneMatch);
    // Weak comparison: W/"3" matches "3".
    const matches = tags === "*" || tags.some((tag) => tag.opaque === String(row.version));
    if (matches) {
      response.writeHead(304, { etag }).end();
      return;
    }
  }
  sendJson(response, 200, toDocument(row), { etag });
}

/** Strong comparison: weak tags never match. Returns null for `*`, else the opaque values to match. */
function strongCandidates(ifMatch: string): string[] | null {
  const tags = parseEntityTags(ifMatch);
  if (tags === "*") return null;
  return tags.filter((tag) => !tag.weak).map((tag) => tag.opaque);
}

async function rowExists(id: string): Promise<boolean> {
  const { rowCount } = await pool.query("select 1 from documents where id = $1", [id]);
  return (rowCount ?? 0) > 0;
}

async function replaceDocument(
  request: IncomingMessage,
  response: ServerResponse,
  id: string,
): Promise<void> {
  const input = await readDocumentInput(request);
  if (!input.ok) return sendError(response, input.status, input.message);
  const ifMatch = headerValue(request, "if-match");
  if (ifMatch === undefined) return sendError(response, 428, "If-Match is required");
  const candidates = strongCandidates(ifMatch);
  // The version check is part of the UPDATE itself: under concurrency, the UPDATE waits for the other writer
  // and re-checks its WHERE clause against the committed row.
  const { rows } = await pool.query<DocumentRow>(
    `update documents
        set title = $2, body = $3, version = version + 1, updated_at = now()
      where id = $1 and ($4::text[] is null or version::text = any($4::text[]))
      returning id, title, body, version`,
    [id, input.title, input.body, candidates],
  );
  const row = rows[0];
  if (!row) {
    if (await rowExists(id))
      return sendError(response, 412, "document has changed (If-Match does not match)");
    return sendError(response, 404, "document not found");
  }
  sendJson(response, 200, toDocument(row), { etag: etagOf(row.version) });
}

async function deleteDocument(request: IncomingMessage, response: ServerResponse, id: string): Promise<void> {
  const ifMatch = headerValue(request, "if-match");
  if (ifMatch === undefined) return sendError(response, 428, "If-Match is required");
  const candidates = strongCandidates(ifMatch);
  const { rowCount } = await pool.query(
    "delete from documents where id = $1 and ($2::text[] is null or version::text = any($2::text[]))",
    [id, candidates],
  );
  if ((rowCount ?? 0) === 0) {
    if (await rowExists(id))
      return sendError(response, 412, "document has changed (If-Match does not match)");
    return sendError(response, 404, "document not found");
  }
  response.writeHead(204).end();
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const method = request.method ?? "GET";

  if (path === "/documents") {
    if (method !== "POST") return sendError(response, 405, "method not allowed", { allow: COLLECTION_ALLOW });
    return createDocument(request, response);
  }

  const match = /^\/documents\/([^/]+)$/.exec(path);
  if (!match) return sendError(response, 404, "not found");
  const id = decodeURIComponent(match[1]!);
  if (!UUID.test(id)) return sendError(response, 404, "document not found");

  switch (method) {
    case "GET":
    case "HEAD":
      return readDocument(request, response, id);
    case "PUT":
      return replaceDocument(request, response, id);
    case "DELETE":
      return deleteDocument(request, response, id);
    default:
      return sendError(response, 405, "method not allowed", { allow: ITEM_ALLOW });
  }
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    console.error(`${request.method} ${request.url} failed:`, error);
    if (!response.headersSent) sendError(response, 500, "internal server error");
    else response.destroy();
  });
});

server.listen(Number(process.env.PORT));

function shutdown(): void {
  server.close(() => {
    void pool.end();
  });
}
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
