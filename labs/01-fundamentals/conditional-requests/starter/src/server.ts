import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import pg from "pg";

/** The table is described in the README (fixtures/schema.sql). */
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is reported here; unhandled, it would kill the process.
pool.on("error", (error) => console.error("postgres pool error:", error.message));

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  response.writeHead(status, { ...headers, "content-type": "application/json" }).end(JSON.stringify(body));
}

/** The request body as text. Parsing it (and refusing what is not JSON) is up to you. */
async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  // TODO 1: route POST /documents and GET/HEAD/PUT/DELETE /documents/{id}; 404 and 405 (with Allow) otherwise.
  // TODO 2: refuse bodies that are not JSON (415) or not valid { title, body } (400).
  // TODO 3: send ETag: "<version>" and answer If-None-Match with 304.
  // TODO 4: PUT and DELETE require If-Match (428) and must not overwrite a newer version (412).
  void pool;
  void readBody;
  sendJson(response, 501, { error: `${request.method} ${request.url} is not implemented yet` });
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    console.error(`${request.method} ${request.url} failed:`, error);
    if (!response.headersSent) sendJson(response, 500, { error: "internal server error" });
    else response.destroy();
  });
});

server.listen(Number(process.env.PORT));
