import { randomUUID } from "node:crypto";
import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { currentRequestId, log, runWithRequestId } from "./logger.ts";

/** A route handler: answers the request, or throws (rejects) and leaves the answer to the boundary. */
export type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

const validRequestId = /^[A-Za-z0-9._-]{1,64}$/;

/** The caller's id when it is safe to log and echo, else the trace id of its traceparent, else a new one. */
export function requestIdFor(headers: IncomingHttpHeaders): string {
  const incoming = headers["x-request-id"];
  if (typeof incoming === "string" && validRequestId.test(incoming)) return incoming;
  // MUTANT: traceparent is never looked at.
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
    } else if (!response.writableEnded) {
      response.destroy();
    }
  }
  log.info("request completed", {
    method,
    path,
    status: response.statusCode,
    duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
  });
}
