import { type IncomingHttpHeaders } from "node:http";

// Given: server.ts and routes.ts rely on these shapes. Keep them as they are.

/** One request and its response, passed through every middleware. server.ts sends the response at the end. */
export interface Context {
  readonly method: string;
  /** The path without the query string, e.g. "/items/7". */
  readonly path: string;
  /** The request headers, names in lower case. */
  readonly headers: IncomingHttpHeaders;
  /** This request's id: "" until the requestId middleware sets it. */
  requestId: string;
  /** The response status: 404 until something sets it. */
  status: number;
  /** The response body: an object is sent as JSON, a string as is, undefined as no body. */
  body: unknown;
  /** The response headers. server.ts adds Content-Type: application/json to a body that has none. */
  readonly responseHeaders: Headers;
  /** Room for middleware to hand values to each other. */
  readonly state: Record<string, unknown>;
}

export type Next = () => Promise<void>;
export type Middleware = (ctx: Context, next: Next) => Promise<void> | void;

/** An error that carries its HTTP status: `throw new HttpError(404, "item 7 not found")`. */
export class HttpError extends Error {
  readonly status: number;
  /** Whether clients may see the message: a 4xx describes their request, a 5xx may describe our internals. */
  readonly expose: boolean;

  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.expose = status < 500;
  }
}

// Yours. The README says what each function must do.

export function compose(middlewares: Middleware[]): Middleware {
  // TODO 1: run the middlewares as an onion, each one's next() running the rest of the chain.
  return (ctx) => {
    ctx.status = 501;
    ctx.body = { error: `compose() is not implemented yet (it was given ${middlewares.length} middlewares)` };
  };
}

export function requestId(): Middleware {
  // TODO 2: reuse a valid incoming X-Request-Id or generate one; set ctx.requestId and the response header.
  return (_ctx, next) => next();
}

export function accessLog(): Middleware {
  // TODO 3: one JSON line per request on stdout.
  return (_ctx, next) => next();
}

export function errorHandler(): Middleware {
  // TODO 4: turn errors into application/problem+json responses; log the unexpected ones.
  return (_ctx, next) => next();
}

export function createApp(routes: Middleware): Middleware {
  // TODO 5: put requestId(), accessLog() and errorHandler() in front of the routes, in the right order.
  return compose([routes]);
}
