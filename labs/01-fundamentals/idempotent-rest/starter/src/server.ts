import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import pg from "pg";

interface Order {
  id: string;
  amountCents: number;
  currency: string;
  description: string;
  status: "placed" | "cancelled";
}

interface OrderInput {
  amountCents: number;
  currency: string;
  description: string;
}

interface Address {
  name: string;
  street: string;
  city: string;
  postalCode: string;
  country: string;
}

/** A response decided anywhere below, written once by the server. */
class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is reported here; unhandled, it would kill the process.
pool.on("error", (error) => console.error("postgres pool error:", error.message));

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface OrderRow {
  id: string;
  amount_cents: string;
  currency: string;
  description: string;
  status: Order["status"];
}

/** pg returns bigint as a string; amounts are safe integers, so Number() is exact. */
function toOrder(row: OrderRow): Order {
  const { id, currency, description, status } = row;
  return { id, amountCents: Number(row.amount_cents), currency, description, status };
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  response.writeHead(status, { ...headers, "content-type": "application/json" }).end(JSON.stringify(body));
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

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

function parseOrderInput(value: unknown): OrderInput {
  const { amountCents, currency, description } = asObject(value);
  if (typeof amountCents !== "number" || !Number.isSafeInteger(amountCents) || amountCents <= 0) {
    throw new HttpError(400, "amountCents must be a positive whole number of cents");
  }
  if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency)) {
    throw new HttpError(400, "currency must be a three-letter ISO 4217 code such as EUR");
  }
  if (typeof description !== "string" || description.length > 200) {
    throw new HttpError(400, "description must be a string of at most 200 characters");
  }
  return { amountCents, currency, description };
}

function parseAddress(value: unknown): Address {
  const fields = asObject(value);
  const address: Record<string, string> = {};
  for (const name of ["name", "street", "city", "postalCode", "country"]) {
    const field = fields[name];
    if (typeof field !== "string" || field.trim() === "" || field.length > 200) {
      throw new HttpError(400, `${name} must be a non-empty string of at most 200 characters`);
    }
    address[name] = field;
  }
  return address as unknown as Address;
}

/** The id of the client whose X-API-Key the request carries. */
async function authenticate(request: IncomingMessage): Promise<string> {
  const apiKey = request.headers["x-api-key"];
  if (typeof apiKey !== "string" || apiKey === "") throw new HttpError(401, "send your API key in X-API-Key");
  const { rows } = await pool.query<{ id: string }>("SELECT id FROM clients WHERE api_key = $1", [apiKey]);
  if (!rows[0]) throw new HttpError(401, "unknown API key");
  return rows[0].id;
}

/** Runs fn on ONE client inside BEGIN ... COMMIT; any error rolls everything back. */
async function inTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

// Everything above is given: parsing, validation, authentication and transactions are not what this lab is
// about. The tables are described in the README (fixtures/schema.sql).

/** POST /orders: the response to send, and whether it was replayed from an earlier request. */
async function createOrder(
  clientId: string,
  request: IncomingMessage,
): Promise<{ status: number; body: unknown; replayed: boolean }> {
  // TODO 2: require an Idempotency-Key, validate the body (readJson, parseOrderInput), create the order and
  // store the response under (client, key), so that a retry replays it instead of creating a second order.
  // TODO 3: the same key with a different request answers 422.
  // TODO 4: concurrent requests with one key, on any instance, create one order.
  throw new HttpError(501, `POST /orders (client ${clientId}, ${request.url}) is not implemented yet`);
}

async function getOrder(clientId: string, id: string): Promise<Order> {
  // TODO 1: the client's order (toOrder), or 404 when it does not exist or belongs to another client.
  throw new HttpError(501, `GET /orders/${id} (client ${clientId}) is not implemented yet`);
}

async function putAddress(clientId: string, id: string, request: IncomingMessage): Promise<Address> {
  // TODO 1: replace the order's shipping address (readJson, parseAddress); the same PUT twice, or two at
  // once, leaves the same state as one.
  throw new HttpError(
    501,
    `PUT /orders/${id}/shipping-address (client ${clientId}, ${request.url}) is not implemented yet`,
  );
}

async function cancelOrder(clientId: string, id: string): Promise<void> {
  // TODO 1: cancel the order and refund it exactly once, however many times DELETE arrives.
  throw new HttpError(501, `DELETE /orders/${id} (client ${clientId}) is not implemented yet`);
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const clientId = await authenticate(request);
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (path === "/orders" && request.method === "POST") {
    const { status, body, replayed } = await createOrder(clientId, request);
    const headers: OutgoingHttpHeaders = replayed ? { "idempotent-replayed": "true" } : {};
    if (status === 201) headers.location = `/orders/${(body as Order).id}`;
    sendJson(response, status, body, headers);
    return;
  }
  const match = /^\/orders\/([^/]+)(\/shipping-address)?$/.exec(path);
  if (!match || !uuidPattern.test(match[1]!)) throw new HttpError(404, `no resource at ${path}`);
  const id = match[1]!;
  if (match[2] && request.method === "PUT")
    return sendJson(response, 200, await putAddress(clientId, id, request));
  if (!match[2] && request.method === "GET") return sendJson(response, 200, await getOrder(clientId, id));
  if (!match[2] && request.method === "DELETE") {
    await cancelOrder(clientId, id);
    response.writeHead(204).end();
    return;
  }
  throw new HttpError(405, `${request.method} is not supported on ${path}`);
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    if (error instanceof HttpError) {
      sendJson(response, error.status, { error: error.message });
      return;
    }
    console.error(`${request.method} ${request.url} failed:`, error);
    if (!response.headersSent) sendJson(response, 500, { error: "internal server error" });
    else response.destroy();
  });
});

server.listen(Number(process.env.PORT));
