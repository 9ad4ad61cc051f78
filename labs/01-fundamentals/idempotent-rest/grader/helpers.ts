// Shared by the grader files: HTTP calls to the learner's server (any instance), and ways to arrange and
// inspect the tables as the superuser, independently of the learner's code.
import { randomBytes } from "node:crypto";
import {
  got,
  learner,
  type LearnerInstance,
  lockWaiters,
  postgres,
  uid,
  waitFor,
} from "@backend-labs/graders";

export { got, uid };

export interface Order {
  id: string;
  amountCents: number;
  currency: string;
  description: string;
  status: "placed" | "cancelled";
}

export interface Client {
  id: string;
  apiKey: string;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** A client of its own for each test, so tests never share orders or idempotency keys. */
export async function newClient(label: string): Promise<Client> {
  const client = { id: uid(label), apiKey: `key_${randomBytes(12).toString("hex")}` };
  await postgres().query("INSERT INTO clients (id, api_key) VALUES ($1, $2)", [client.id, client.apiKey]);
  return client;
}

/** Sends one request to an instance of the learner's server (the first one unless told otherwise). */
export async function send(
  method: string,
  path: string,
  options: {
    client?: Client;
    idempotencyKey?: string;
    json?: unknown;
    raw?: string;
    instance?: LearnerInstance;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.client) headers["x-api-key"] = options.client.apiKey;
  if (options.idempotencyKey !== undefined) headers["idempotency-key"] = options.idempotencyKey;
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.raw;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await (options.instance ?? learner()).fetch(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export function orderBody(label: string, amountCents = 1_999): Omit<Order, "id" | "status"> {
  return { amountCents, currency: "EUR", description: uid(label) };
}

/** Creates an order directly in the database (not through the learner's code). */
export async function insertOrder(client: Client, amountCents = 4_500): Promise<Order> {
  const { rows } = await postgres().query<{ id: string }>(
    "INSERT INTO orders (client_id, amount_cents, currency, description) VALUES ($1, $2, 'EUR', $3) RETURNING id",
    [client.id, amountCents, uid("order")],
  );
  const { clientId: _clientId, ...order } = (await storedOrder(rows[0]!.id))!;
  return order;
}

export async function storedOrder(id: string): Promise<(Order & { clientId: string }) | undefined> {
  const orders = await storedOrders("id = $1", [id]);
  return orders[0];
}

/** The client's orders as stored, oldest first. */
export async function ordersOf(client: Client): Promise<(Order & { clientId: string })[]> {
  return storedOrders("client_id = $1", [client.id]);
}

async function storedOrders(where: string, params: unknown[]): Promise<(Order & { clientId: string })[]> {
  const { rows } = await postgres().query<{
    id: string;
    client_id: string;
    amount_cents: string;
    currency: string;
    description: string;
    status: Order["status"];
  }>(
    `SELECT id, client_id, amount_cents, currency, description, status FROM orders WHERE ${where}
      ORDER BY created_at, id`,
    params,
  );
  return rows.map((row) => ({
    id: row.id,
    clientId: row.client_id,
    amountCents: Number(row.amount_cents),
    currency: row.currency,
    description: row.description,
    status: row.status,
  }));
}

export async function refundsOf(orderId: string): Promise<number[]> {
  const { rows } = await postgres().query<{ amount_cents: string }>(
    "SELECT amount_cents FROM refunds WHERE order_id = $1 ORDER BY id",
    [orderId],
  );
  return rows.map((row) => Number(row.amount_cents));
}

export async function addressRows(orderId: string): Promise<Record<string, string>[]> {
  const { rows } = await postgres().query<Record<string, string>>(
    "SELECT name, street, city, postal_code, country FROM shipping_addresses WHERE order_id = $1",
    [orderId],
  );
  return rows;
}

export async function keyRow(
  client: Client,
  key: string,
): Promise<{ response_status: number | null; response_body: unknown } | undefined> {
  const { rows } = await postgres().query<{ response_status: number | null; response_body: unknown }>(
    `SELECT response_status, response_body FROM idempotency_keys WHERE client_id = $1 AND idempotency_key = $2`,
    [client.id, key],
  );
  return rows[0];
}

/**
 * Makes a race deterministic. The grader runs `hold` in an open transaction (lock a row, or insert a row
 * the requests will collide with), starts the requests, waits until `waiters` database sessions queue on a
 * lock (or every request has been answered, or 3 s passed), then rolls back. By then each request has done
 * whatever it does before that lock, and they all go on from the same instant.
 */
export async function raceBehindLock<T>(
  hold: { sql: string; params: unknown[] },
  waiters: number,
  start: () => Promise<T>[],
): Promise<T[]> {
  const client = await postgres().connect();
  let open = false;
  try {
    await client.query("BEGIN");
    open = true;
    await client.query(hold.sql, hold.params);
    let settled = 0;
    const calls = start().map((call) => call.finally(() => settled++));
    const outcomes = Promise.allSettled(calls);
    await waitFor(async () => settled === calls.length || (await lockWaiters()) >= waiters, 3_000, 20);
    await client.query("ROLLBACK");
    open = false;
    return (await outcomes).map((outcome) => {
      if (outcome.status === "rejected") throw outcome.reason;
      return outcome.value;
    });
  } finally {
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}

export async function countWithDescription(description: string): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    "SELECT count(*)::int AS n FROM orders WHERE description = $1",
    [description],
  );
  return rows[0]!.n;
}

/** The order's shipping address as stored, in the API's shape, or undefined when it has none. */
export async function storedAddress(orderId: string): Promise<Record<string, string> | undefined> {
  const { rows } = await postgres().query<Record<string, string>>(
    `SELECT name, street, city, postal_code AS "postalCode", country FROM shipping_addresses WHERE order_id = $1`,
    [orderId],
  );
  return rows[0];
}

/**
 * Makes the database refuse some writes, as a crash or a full disk would at the worst moment: a trigger on
 * `table` raises an error for every inserted or updated row that matches `when` (SQL over NEW). Returns the
 * function that removes it again.
 */
export async function failWrites(
  table: "idempotency_keys" | "refunds",
  when: string,
): Promise<() => Promise<void>> {
  const name = `grader_fails_${randomBytes(6).toString("hex")}`;
  await postgres().query(
    `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the grader made this write to ${table} fail, as a crash would'; END $$`,
  );
  await postgres().query(
    `CREATE TRIGGER ${name} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW WHEN (${when})
       EXECUTE FUNCTION ${name}()`,
  );
  return async () => {
    await postgres().query(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
    await postgres().query(`DROP FUNCTION IF EXISTS ${name}()`);
  };
}
