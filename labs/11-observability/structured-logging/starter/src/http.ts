import { type IncomingMessage, type ServerResponse } from "node:http";

/** A route handler: answers the request, or throws (rejects) and leaves the answer to the boundary. */
export type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** The request boundary: server.ts hands every request to the function this returns. */
export function handleRequests(route: Route): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    // TODO 2: pick the request's id (X-Request-Id, else traceparent, else a new one) and echo it.
    // TODO 3: run the route inside the request's logging context.
    // TODO 4: log a failed request once, here, and answer 500; log "request completed" for every request.
    route(request, response).catch((error: unknown) => {
      console.error(error);
      if (!response.headersSent) response.writeHead(500).end();
    });
  };
}
