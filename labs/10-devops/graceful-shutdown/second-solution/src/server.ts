import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import pg from "pg";

/** How long to keep serving after readiness fails, so load balancers stop sending new traffic first. */
const drainDelayMs = Number(process.env.DRAIN_DELAY_MS ?? 5_000);
/** The whole shutdown, from SIGTERM to exit, must fit in this (the orchestrator SIGKILLs after its grace period). */
const shutdownTimeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 25_000);
const maxProcessingMs = 10_000;

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is replaced on the next checkout; without a listener it would crash the process.
pool.on("error", (error) => console.warn(`idle Postgres connection failed: ${error.message}`));

/**
 * Hand-rolled connection bookkeeping instead of server.close()'s callback: every socket the server accepted,
 * with the number of requests it is serving right now. Shutdown is done when this map is empty.
 */
const sockets = new Map<Socket, number>();
let phase: "serving" | "draining" | "closing" = "serving";
let exiting = false;

const server = createServer((request, response) => {
  const socket = request.socket;
  sockets.set(socket, (sockets.get(socket) ?? 0) + 1);
  // Every response written after SIGTERM tells the client not to reuse this connection.
  const writeHead = response.writeHead;
  response.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse["writeHead"]>) {
    if (phase !== "serving") this.setHeader("connection", "close");
    return writeHead.apply(this, args);
  } as ServerResponse["writeHead"];
  response.on("close", () => {
    const left = (sockets.get(socket) ?? 1) - 1;
    if (sockets.has(socket)) sockets.set(socket, left);
    if (phase === "closing" && left === 0) socket.end();
    checkDone();
  });
  route(request, response).catch((error: unknown) => {
    console.error("request failed:", error);
    if (response.headersSent) response.destroy();
    else send(response, 500, { error: "internal error" });
  });
});
server.on("connection", (socket: Socket) => {
  sockets.set(socket, 0);
  socket.on("close", () => {
    sockets.delete(socket);
    checkDone();
  });
});
server.listen(Number(process.env.PORT));

process.on("SIGTERM", () => {
  if (phase !== "serving") return;
  phase = "draining";
  console.log(`SIGTERM: readiness failing, draining for ${drainDelayMs} ms`);
  // The deadline counts from the signal: that is when the orchestrator's grace period started.
  setTimeout(giveUp, shutdownTimeoutMs);
  setTimeout(stopAccepting, drainDelayMs);
});

function stopAccepting(): void {
  phase = "closing";
  server.close();
  // Idle connections (keep-alive, or opened and never used) are closed now; busy ones after their last response.
  for (const [socket, busy] of sockets) if (busy === 0) socket.destroy();
  checkDone();
}

function checkDone(): void {
  if (phase !== "closing" || exiting || sockets.size > 0) return;
  exiting = true;
  pool.end().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error("could not end the Postgres pool:", error);
      process.exit(1);
    },
  );
}

function giveUp(): void {
  const busy = [...sockets.values()].reduce((sum, n) => sum + n, 0);
  console.error(
    `shutdown deadline of ${shutdownTimeoutMs} ms reached with ${busy} request(s) in flight; giving up`,
  );
  for (const socket of sockets.keys()) socket.destroy();
  process.exit(1);
}

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (request.method === "GET" && path === "/healthz") {
    send(response, 200, { status: "alive" });
  } else if (request.method === "GET" && path === "/readyz") {
    if (phase === "serving") send(response, 200, { status: "ready" });
    else send(response, 503, { status: "shutting down" });
  } else if (request.method === "POST" && path === "/orders") {
    await createOrder(request, response);
  } else {
    send(response, 404, { error: "not found" });
  }
}

async function createOrder(request: IncomingMessage, response: ServerResponse): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(request));
  } catch {
    send(response, 400, { error: "the body must be JSON" });
    return;
  }
  const { orderId, processingMs } = (body ?? {}) as { orderId?: unknown; processingMs?: unknown };
  if (typeof orderId !== "string" || orderId.length === 0 || orderId.length > 100) {
    send(response, 400, { error: "orderId must be a string of 1 to 100 characters" });
    return;
  }
  if (
    typeof processingMs !== "number" ||
    !Number.isInteger(processingMs) ||
    processingMs < 0 ||
    processingMs > maxProcessingMs
  ) {
    send(response, 400, { error: `processingMs must be an integer from 0 to ${maxProcessingMs}` });
    return;
  }

  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("INSERT INTO orders (id, processing_ms) VALUES ($1, $2)", [orderId, processingMs]);
    // The slow part of a real request (a payment provider, a big query), inside the order's transaction.
    await client.query("SELECT pg_sleep($1)", [processingMs / 1000]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    if ((error as { code?: string }).code === "23505") {
      send(response, 409, { error: `order ${orderId} already exists` });
      return;
    }
    throw error;
  } finally {
    client.release();
  }
  send(response, 201, { orderId });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
