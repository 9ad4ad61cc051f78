import { randomUUID } from "node:crypto";
import { type IncomingMessage, type ServerResponse } from "node:http";
import { log, runWithRequestId } from "./logger.ts";

/** A route handler: answers the request, or throws (rejects) and leaves the answer to the boundary. */
export type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

function single(header: string | string[] | undefined): string | undefined {
  return typeof header === "string" ? header : undefined;
}

/** X-Request-Id if it is safe, else the trace id of a valid traceparent, else a new UUID. */
export function pickRequestId(request: IncomingMessage): string {
  const given = single(request.headers["x-request-id"]);
  if (given !== undefined && requestIdPattern.test(given)) return given;
  const traceparent = single(request.headers.traceparent);
  const match = traceparent === undefined ? null : traceparentPattern.exec(traceparent);
  if (match && !/^0+$/.test(match[1]!) && !/^0+$/.test(match[2]!)) return match[1]!;
  return randomUUID();
}

/** The request boundary: server.ts hands every request to the function this returns. */
export function handleRequests(route: Route): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const start = performance.now();
    const requestId = pickRequestId(request);
    response.setHeader("X-Request-Id", requestId);
    const method = request.method ?? "GET";
    const path = (request.url ?? "/").split("?")[0]!;
    void runWithRequestId(requestId, async () => {
      try {
        await route(request, response);
      } catch (error) {
        log.error("request failed", { err: error, method, path });
        if (!response.headersSent) {
          response
            .writeHead(500, { "content-type": "application/json" })
            .end(JSON.stringify({ error: "internal error", request_id: requestId }));
        } else if (!response.writableEnded) {
          response.end();
        }
      }
      log.info("request completed", {
        method,
        path,
        status: response.statusCode,
        duration_ms: Math.round((performance.now() - start) * 1000) / 1000,
      });
    });
  };
}
