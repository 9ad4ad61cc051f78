import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { createHash } from "node:crypto";
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

const ADDRESS_COLUMNS = "name, street, city, postal_code, country";

interface AddressRow {
  name: string;
  street: string;
  city: string;
  postal_code: string;
  country: string;
}

function toAddress(row: AddressRow): Address {
  return {
    name: row.name,
    street: row.street,
    city: row.city,
    postalCode: row.postal_code,
    country: row.country,
  };
}

interface KeyRow {
  request_hash: string;
  response_status: number | null;
  response_body: unknown;
}

/** A fingerprint of what the request asks for: the validated fields, in a fixed order. */
function fingerprint(input: OrderInput): string {
  const canonical = JSON.stringify([input.amountCents, input.currency, input.description]);
  return createHash("sha256").update(canonical).digest("hex");
}

/** What to answer for a key that is already stored. */
function replayStored(
  row: KeyRow,
  requestHash: string,
): { status: number; body: unknown; replayed: boolean } {
  if (row.request_hash !== requestHash) {
    throw new HttpError(422, "this Idempotency-Key was already used for a different request");
  }
  if (row.response_status === null) {
    throw new HttpError(409, "a request with this Idempotency-Key is still being processed");
  }
  return { status: row.response_status, body: row.response_body, replayed: true };
}

class KeyTaken extends Error {}

/** POST /orders: the response to send, and whether it was replayed from an earlier request. */
async function createOrder(
  clientId: string,
  request: IncomingMessage,
): Promise<{ status: number; body: unknown; replayed: boolean }> {
  const key = request.headers["idempotency-key"];
  if (typeof key !== "string" || key.length < 1 || key.length > 255) {
    throw new HttpError(400, "send an Idempotency-Key header of 1 to 255 characters");
  }
  const input = parseOrderInput(await readJson(request));
  const requestHash = fingerprint(input);

  try {
    return await inTransaction(async (client) => {
      // Serialise every request for this (client, key), on every instance, until this transaction ends.
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", [clientId, key]);
      const existing = await client.query<KeyRow>(
        `SELECT request_hash, response_status, response_body FROM idempotency_keys
          WHERE client_id = $1 AND idempotency_key = $2`,
        [clientId, key],
      );
      if (existing.rows[0]) return replayStored(existing.rows[0], requestHash);

      const { rows } = await client.query<OrderRow>(
        `INSERT INTO orders (client_id, amount_cents, currency, description) VALUES ($1, $2, $3, $4)
         RETURNING id, amount_cents, currency, description, status`,
        [clientId, input.amountCents, input.currency, input.description],
      );
      const order = toOrder(rows[0]!);
      try {
        // The primary key stays the last word: a row written by something that does not take the lock
        // makes this INSERT fail, and the whole transaction (the order too) rolls back.
        await client.query(
          `INSERT INTO idempotency_keys (client_id, idempotency_key, request_hash, response_status, response_body)
           VALUES ($1, $2, $3, 201, $4)`,
          [clientId, key, requestHash, JSON.stringify(order)],
        );
      } catch (error) {
        if ((error as { code?: string }).code === "23505") throw new KeyTaken();
        throw error;
      }
      return { status: 201, body: order, replayed: false };
    });
  } catch (error) {
    if (!(error instanceof KeyTaken)) throw error;
    const { rows } = await pool.query<KeyRow>(
      `SELECT request_hash, response_status, response_body FROM idempotency_keys
        WHERE client_id = $1 AND idempotency_key = $2`,
      [clientId, key],
    );
    if (!rows[0]) throw new HttpError(409, "a request with this Idempotency-Key is still being processed");
    return replayStored(rows[0], requestHash);
  }
}

async function getOrder(clientId: string, id: string): Promise<Order> {
  const { rows } = await pool.query<OrderRow>(
    "SELECT id, amount_cents, currency, description, status FROM orders WHERE id = $1 AND client_id = $2",
    [id, clientId],
  );
  if (!rows[0]) throw new HttpError(404, "no such order");
  return toOrder(rows[0]);
}

async function putAddress(clientId: string, id: string, request: IncomingMessage): Promise<Address> {
  const address = parseAddress(await readJson(request));
  // One statement: insert, or replace the row a concurrent PUT just inserted. Only the client's own order.
  const { rows } = await pool.query<AddressRow>(
    `INSERT INTO shipping_addresses (order_id, ${ADDRESS_COLUMNS})
     SELECT o.id, $3, $4, $5, $6, $7 FROM orders o WHERE o.id = $1 AND o.client_id = $2
     ON CONFLICT (order_id) DO UPDATE
        SET name = excluded.name, street = excluded.street, city = excluded.city,
            postal_code = excluded.postal_code, country = excluded.country, updated_at = now()
     RETURNING ${ADDRESS_COLUMNS}`,
    [id, clientId, address.name, address.street, address.city, address.postalCode, address.country],
  );
  if (!rows[0]) throw new HttpError(404, "no such order");
  return toAddress(rows[0]);
}

async function cancelOrder(clientId: string, id: string): Promise<void> {
  await inTransaction(async (client) => {
    // The state change decides who refunds: a concurrent DELETE waits for this row, re-checks
    // status = 'placed', and updates nothing.
    const cancelled = await client.query<{ amount_cents: string }>(
      `UPDATE orders SET status = 'cancelled' WHERE id = $1 AND client_id = $2 AND status = 'placed'
       RETURNING amount_cents`,
      [id, clientId],
    );
    const row = cancelled.rows[0];
    if (row) {
      await client.query("INSERT INTO refunds (order_id, amount_cents) VALUES ($1, $2)", [
        id,
        row.amount_cents,
      ]);
      return;
    }
    const existing = await client.query("SELECT 1 FROM orders WHERE id = $1 AND client_id = $2", [
      id,
      clientId,
    ]);
    if (existing.rowCount === 0) throw new HttpError(404, "no such order");
  });
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

function shutdown(): void {
  server.close(() => {
    void pool.end();
  });
}
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
