// Given, and not yours to change: the application's routes, which the grader calls. Two of them build small
// pipelines of their own with your compose().
import { setTimeout as sleep } from "node:timers/promises";
import { compose, type Context, HttpError, type Middleware } from "./pipeline.ts";

const items: Record<string, { id: string; name: string }> = { "1": { id: "1", name: "mechanical keyboard" } };

function trace(ctx: Context): string[] {
  return ctx.state.trace as string[];
}

const layers = compose([
  async (ctx, next) => {
    trace(ctx).push("outer:before");
    await next();
    trace(ctx).push("outer:after");
  },
  async (ctx, next) => {
    trace(ctx).push("inner:before");
    await next();
    trace(ctx).push("inner:after");
  },
]);

const callsNextTwice = compose([
  async (_ctx, next) => {
    await next();
    await next();
  },
  async (ctx, next) => {
    ctx.state.runs = Number(ctx.state.runs ?? 0) + 1;
    await next();
  },
  () => undefined,
]);

// The last middleware calls next() twice: the second call would run the pipeline's own next again.
const lastCallsNextTwice = compose([
  async (_ctx, next) => {
    await next();
    await next();
  },
]);

// Holds a request until a second one has arrived too (or 2 s have passed), so that two runs of one composed
// pipeline are under way at the same time, as they are on a busy server.
let waiting: (() => void) | undefined;
function meetAnotherRequest(): Promise<void> {
  const other = waiting;
  if (other) {
    waiting = undefined;
    other();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const arrived = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      if (waiting === arrived) waiting = undefined;
      resolve();
    }, 2_000);
    waiting = arrived;
  });
}

const overlapping = compose([
  async (_ctx, next) => {
    await meetAnotherRequest();
    await next();
  },
  (ctx) => {
    ctx.state.reached = true;
  },
]);

const handlers: Record<string, (ctx: Context) => Promise<void> | void> = {
  "GET /hello": (ctx) => {
    ctx.status = 200;
    ctx.body = {
      message: "hello",
      requestId: ctx.requestId,
      requestIdHeader: ctx.responseHeaders.get("x-request-id"),
    };
  },
  "GET /slow": async (ctx) => {
    await sleep(60);
    ctx.status = 200;
    ctx.body = { sleptMs: 60 };
  },
  "GET /boom": () => {
    throw new Error(
      'password authentication failed for user "billing" (password=hunter2, host db-internal-3)',
    );
  },
  "GET /slow-boom": async () => {
    await sleep(20);
    throw new TypeError("Cannot read properties of undefined (reading 'cardNumber') in chargeCustomer");
  },
  "GET /maintenance": () => {
    throw new HttpError(503, "replica db-internal-3 is 40 s behind the primary");
  },
  "GET /layers": async (ctx) => {
    ctx.state.trace = [];
    await layers(ctx, () => {
      trace(ctx).push("handler");
      return Promise.resolve();
    });
    ctx.status = 200;
    ctx.body = { trace: trace(ctx) };
  },
  "GET /next-twice": async (ctx) => {
    await callsNextTwice(ctx, () => Promise.resolve());
    ctx.status = 200;
    ctx.body = { runs: ctx.state.runs };
  },
  "GET /next-twice-last": async (ctx) => {
    let runs = 0;
    await lastCallsNextTwice(ctx, () => {
      runs++;
      return Promise.resolve();
    });
    ctx.status = 200;
    ctx.body = { runs };
  },
  "GET /overlap": async (ctx) => {
    await overlapping(ctx, () => Promise.resolve());
    ctx.status = 200;
    ctx.body = { reached: ctx.state.reached === true };
  },
};

export const routes: Middleware = async (ctx) => {
  const item = /^\/items\/([^/]+)$/.exec(ctx.path);
  if (ctx.method === "GET" && item) {
    const found = items[item[1]!];
    if (!found) throw new HttpError(404, `item ${item[1]} not found`);
    ctx.status = 200;
    ctx.body = found;
    return;
  }
  const handler = handlers[`${ctx.method} ${ctx.path}`];
  if (!handler) throw new HttpError(404, `no route for ${ctx.method} ${ctx.path}`);
  await handler(ctx);
};
