import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";

/** How long to keep serving after readiness fails, so load balancers stop sending new traffic first. */
const drainDelayMs = Number(process.env.DRAIN_DELAY_MS ?? 5_000);
/** The whole shutdown, from SIGTERM to exit, must fit in this (the orchestrator SIGKILLs after its grace period). */
const shutdownTimeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 25_000);
const maxProcessingMs = 10_000;

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is replaced on the next checkout; without a listener it would crash the process.
pool.on("error", (error) => console.warn(`idle Postgres connection failed: ${error.message}`));

let shuttingDown = false;
let inFlight = 0;

const server = createServer((request, response) => {
  inFlight++;
  response.on("close", () => inFlight--);
  route(request, response).catch((error: unknown) => {
    console.error("request failed:", error);
    if (response.headersSent) response.destroy();
    else send(response, 500, { error: "internal error" });
  });
});
server.listen(Number(process.env.PORT));
process.once("SIGTERM", () => void shutdown());

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (request.method === "GET" && path === "/healthz") {
    send(response, 200, { status: "ok" });
  } else if (request.method === "GET" && path === "/readyz") {
    if (shuttingDown) send(response, 503, { status: "shutting down" });
    else send(response, 200, { status: "ready" });
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

async function shutdown(): Promise<void> {
  console.log(`SIGTERM: failing readiness, draining for ${drainDelayMs} ms`);
  shuttingDown = true;
  const deadline = setTimeout(() => {
    console.error(`shutdown still not done after ${shutdownTimeoutMs} ms: cutting off the requests left`);
    server.closeAllConnections();
    process.exit(1);
  }, shutdownTimeoutMs);

  // Load balancers poll /readyz; until they notice the 503, they keep sending requests, which we serve.
  await sleep(drainDelayMs);
  // MISTAKE: waits for the requests in flight but never closes the listener, so new ones keep coming
  while (inFlight > 0) await sleep(10);
  await pool.end();
  clearTimeout(deadline);
  console.log("drained: exiting");
  process.exit(0);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  // During shutdown no connection may stay open for another request: it would keep close() waiting.
  if (shuttingDown) response.setHeader("connection", "close");
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
