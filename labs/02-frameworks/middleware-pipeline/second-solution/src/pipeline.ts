import { randomUUID } from "node:crypto";
import { type IncomingHttpHeaders, STATUS_CODES } from "node:http";
import { performance } from "node:perf_hooks";

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
  return (ctx, next) => {
    // Per run of the composed middleware: the highest index a next() has reached so far.
    let reached = -1;
    const dispatch = async (index: number): Promise<void> => {
      if (index <= reached) throw new Error("next() called multiple times");
      reached = index;
      const middleware = index === middlewares.length ? next : middlewares[index];
      if (!middleware) return;
      await middleware(ctx, () => dispatch(index + 1));
    };
    return dispatch(0);
  };
}

/** One JSON object per line on stdout. */
function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

const VALID_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestId(): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.headers["x-request-id"];
    const id = typeof incoming === "string" && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.requestId = id;
    ctx.responseHeaders.set("X-Request-Id", id);
    await next();
  };
}

export function accessLog(): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    let failed = false;
    try {
      await next();
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      log({
        level: "info",
        msg: "request",
        method: ctx.method,
        path: ctx.path,
        // An error that escapes the pipeline is answered 500 by the server.
        status: failed ? 500 : ctx.status,
        duration_ms: performance.now() - started,
        request_id: ctx.requestId,
      });
    }
  };
}

export function errorHandler(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      const exposed = error instanceof HttpError && error.expose;
      if (!exposed) {
        log({
          level: "error",
          msg: "request failed",
          request_id: ctx.requestId,
          error: error instanceof Error ? error.message : String(error),
          stack: error instanceof Error ? (error.stack ?? "") : "",
        });
      }
      ctx.status = status;
      ctx.responseHeaders.set("Content-Type", "application/problem+json");
      ctx.body = {
        type: "about:blank",
        title: STATUS_CODES[status] ?? "Unknown Error",
        status,
        ...(exposed && { detail: error.message }),
        request_id: ctx.requestId,
      };
    }
  };
}

export function createApp(routes: Middleware): Middleware {
  // requestId first: everything after it, failures included, sees the id. The access log wraps the error
  // handler, so it records the status the error handler chose.
  return compose([requestId(), accessLog(), errorHandler(), routes]);
}
