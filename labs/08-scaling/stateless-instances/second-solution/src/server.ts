import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Redis } from "ioredis";

/** Idle time after which a session ends; every authenticated request starts it again. */
const sessionTtlMs = Number(process.env.SESSION_TTL_MS ?? 30 * 60 * 1000);
/** Idle time after which an abandoned cart is dropped; every cart request starts it again. */
const cartTtlMs = Number(process.env.CART_TTL_MS ?? 7 * 24 * 60 * 60 * 1000);

const skuPattern = /^[A-Za-z0-9-]{1,40}$/;
const cookieName = "sid";

// Everything about a user lives in Redis; this process keeps nothing between requests.
const redis = new Redis(process.env.REDIS_URL ?? "");
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
      send(response, error.status, { error: error.message });
      return;
    }
    console.error("request failed:", error);
    send(response, 500, { error: "internal error" });
  });
});
server.listen(Number(process.env.PORT));

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const method = request.method ?? "GET";
  if (method === "POST" && path === "/login") return login(request, response);
  if (method === "POST" && path === "/logout") return logout(request, response);
  if (method === "GET" && path === "/me") {
    const { userId } = await authenticate(request);
    return send(response, 200, { userId });
  }
  if (method === "GET" && path === "/cart") {
    const { userId } = await authenticate(request);
    return send(response, 200, { items: await readCart(userId) });
  }
  if (method === "POST" && path === "/cart/items") return addItem(request, response);
  const removed = /^\/cart\/items\/([^/]+)$/.exec(path);
  if (method === "DELETE" && removed?.[1])
    return removeItem(request, response, decodeURIComponent(removed[1]));
  send(response, 404, { error: "not found" });
}

async function login(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { userId } = (await readJson(request)) as { userId?: unknown };
  if (typeof userId !== "string" || userId.length === 0 || userId.length > 100) {
    throw new HttpError(400, "userId must be a string of 1 to 100 characters");
  }
  const sid = randomBytes(32).toString("base64url"); // 256 random bits
  const key = sessionKey(sid);
  await exec(
    redis.multi().hset(key, { userId, createdAt: new Date().toISOString() }).pexpire(key, sessionTtlMs),
  );
  response.setHeader("set-cookie", `${cookieName}=${sid}; Path=/; HttpOnly; SameSite=Lax`);
  send(response, 201, { userId });
}

async function logout(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const sid = sessionId(request);
  if (sid) await redis.del(sessionKey(sid));
  response.setHeader("set-cookie", `${cookieName}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
  response.writeHead(204).end();
}

/** The session's user; refreshes the session's expiry (sliding). Throws 401 without a live session. */
async function authenticate(request: IncomingMessage): Promise<{ sid: string; userId: string }> {
  const sid = sessionId(request);
  if (!sid) throw new HttpError(401, "not logged in");
  const key = sessionKey(sid);
  // PEXPIRE on a missing key does nothing, so reading and sliding in one round trip is safe.
  const [userId] = await exec(redis.multi().hget(key, "userId").pexpire(key, sessionTtlMs));
  if (typeof userId !== "string" || userId.length === 0) throw new HttpError(401, "not logged in");
  return { sid, userId };
}

function toItems(hash: unknown): Record<string, number> {
  const items: Record<string, number> = {};
  for (const [sku, quantity] of Object.entries((hash ?? {}) as Record<string, string>)) {
    items[sku] = Number(quantity);
  }
  return items;
}

async function readCart(userId: string): Promise<Record<string, number>> {
  const key = cartKey(userId);
  const [hash] = await exec(redis.multi().hgetall(key).pexpire(key, cartTtlMs));
  return toItems(hash);
}

async function addItem(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { userId } = await authenticate(request);
  const { sku, quantity } = (await readJson(request)) as { sku?: unknown; quantity?: unknown };
  if (typeof sku !== "string" || !skuPattern.test(sku)) {
    throw new HttpError(400, "sku must be 1 to 40 letters, digits or dashes");
  }
  if (typeof quantity !== "number" || !Number.isInteger(quantity) || quantity < 1 || quantity > 99) {
    throw new HttpError(400, "quantity must be an integer from 1 to 99");
  }
  const key = cartKey(userId);
  // Redis does the addition: concurrent requests on any instance all count.
  const [, , hash] = await exec(
    redis.multi().hincrby(key, sku, quantity).pexpire(key, cartTtlMs).hgetall(key),
  );
  send(response, 200, { items: toItems(hash) });
}

async function removeItem(request: IncomingMessage, response: ServerResponse, sku: string): Promise<void> {
  const { userId } = await authenticate(request);
  const key = cartKey(userId);
  const [, , hash] = await exec(redis.multi().hdel(key, sku).pexpire(key, cartTtlMs).hgetall(key));
  send(response, 200, { items: toItems(hash) });
}

/** Runs a MULTI and returns the replies, throwing the first error. */
async function exec(multi: ReturnType<Redis["multi"]>): Promise<unknown[]> {
  const results = await multi.exec();
  if (!results) throw new Error("transaction aborted");
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
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
    throw new HttpError(400, "the body must be JSON");
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
