// Given, and not yours to change: the service's routes, as the team wrote them. They log through
// ./logger.ts and query through ./db.ts, and they never pass a request id around. Making every line they
// produce carry the id of the request that caused it is your job, in logger.ts, db.ts and http.ts.
import { createHash, randomBytes, randomUUID, scrypt } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { query } from "./db.ts";
import { handleRequests } from "./http.ts";
import { log } from "./logger.ts";

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const maxDelayMs = 2_000;

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const order = /^\/orders\/([^/]+)$/.exec(url.pathname);
  if (request.method === "GET" && order) return getOrder(decodeURIComponent(order[1]!), url, response);
  if (request.method === "POST" && url.pathname === "/orders") return createOrder(request, response);
  if (request.method === "POST" && url.pathname === "/users") return signUp(request, response);
  if (request.method === "GET" && url.pathname === "/me") return me(request, response);
  send(response, 404, { error: "not found" });
}

async function getOrder(id: string, url: URL, response: ServerResponse): Promise<void> {
  // ?delay_ms=N makes the query take N ms longer, as a slow query would: the grader uses it to make
  // requests overlap.
  const delayMs = Math.min(Math.max(Number(url.searchParams.get("delay_ms")) || 0, 0), maxDelayMs);
  const { rows } = await query<{ id: string; item: string; quantity: number }>(
    "SELECT id, item, quantity FROM orders, pg_sleep($2::float8 / 1000) WHERE id = $1",
    [id, delayMs],
  );
  const found = rows[0];
  if (!found) {
    log.info("order not found", { order_id: id });
    send(response, 404, { error: `order ${id} not found` });
    return;
  }
  log.info("order loaded", { order_id: found.id, item: found.item });
  send(response, 200, found);
}

async function createOrder(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJson(request, response);
  if (body === undefined) return;
  const { item, quantity } = (body ?? {}) as { item?: unknown; quantity?: unknown };
  // Known bug, for another day: quantity 0 passes this check and the database's CHECK refuses it.
  if (typeof item !== "string" || item.length === 0 || !Number.isInteger(quantity)) {
    send(response, 400, { error: "item must be a non-empty string and quantity an integer" });
    return;
  }
  const id = randomUUID();
  try {
    await query("INSERT INTO orders (id, item, quantity) VALUES ($1, $2, $3)", [id, item, quantity]);
  } catch (error) {
    // Say what we were doing and pass it on: the request boundary logs it, once.
    throw new Error(`could not create order for ${item}`, { cause: error });
  }
  log.info("order created", { order_id: id, item, quantity });
  send(response, 201, { id });
  // The warehouse hears about the order after the client has its answer. These lines still belong to
  // this request.
  notifyWarehouse(id).catch((error: unknown) => {
    log.warn("warehouse notification failed", { order_id: id, err: error });
  });
}

async function notifyWarehouse(orderId: string): Promise<void> {
  await sleep(50);
  await query("UPDATE orders SET notified_at = now() WHERE id = $1", [orderId]);
  log.info("warehouse notified", { order_id: orderId });
}

async function signUp(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJson(request, response);
  if (body === undefined) return;
  log.info("signup received", { user: body });
  const { email, password } = (body ?? {}) as { email?: unknown; password?: unknown };
  if (
    typeof email !== "string" ||
    !email.includes("@") ||
    typeof password !== "string" ||
    password.length < 8
  ) {
    send(response, 400, { error: "an email and a password of at least 8 characters are required" });
    return;
  }
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32);
  try {
    const { rows } = await query<{ id: string }>(
      "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id",
      [email, `${salt.toString("hex")}:${key.toString("hex")}`],
    );
    log.info("user created", { user_id: Number(rows[0]!.id) });
    send(response, 201, { id: Number(rows[0]!.id) });
  } catch (error) {
    if ((error as { code?: string }).code !== "23505") throw error;
    send(response, 409, { error: "this email is already registered" });
  }
}

async function me(request: IncomingMessage, response: ServerResponse): Promise<void> {
  log.debug("authenticating", { headers: request.headers });
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "")?.[1];
  if (!token) {
    send(response, 401, { error: "send Authorization: Bearer <token>" });
    return;
  }
  const { rows } = await query<{ email: string }>(
    "SELECT u.email FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = $1",
    [createHash("sha256").update(token).digest("hex")],
  );
  const session = rows[0];
  if (!session) {
    send(response, 401, { error: "unknown or expired token" });
    return;
  }
  log.info("authenticated", { email: session.email });
  send(response, 200, { email: session.email });
}

async function readJson(request: IncomingMessage, response: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    send(response, 400, { error: "the body must be JSON" });
    return undefined;
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

const port = Number(process.env.PORT);
createServer(handleRequests(route)).listen(port, () => log.info("listening", { port }));
