import { initTRPC, TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { ZodError } from "zod";
import { csrfRefusal } from "../auth/csrf.ts";
import type { Context } from "./context.ts";
import { RetryAfter } from "./retry-after.ts";

const t = initTRPC.context<Context>().create({
  errorFormatter: ({ shape, error }) => ({
    ...shape,
    data: {
      ...shape.data,
      // Field-level messages for forms; never a stack trace.
      fieldErrors: error.cause instanceof ZodError ? error.cause.flatten().fieldErrors : undefined,
      retryAfterSeconds: error.cause instanceof RetryAfter ? error.cause.seconds : undefined,
      stack: undefined,
    },
  }),
  sse: {
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 25_000 },
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Every state-changing call must carry the CSRF token and come from this site. */
const csrfProtection = t.middleware(({ ctx, type, next }) => {
  if (type === "mutation") {
    const refusal = csrfRefusal(ctx.http.url, ctx.http.headers);
    if (refusal) throw new TRPCError({ code: "FORBIDDEN", message: refusal });
  }
  return next();
});

/** Each query's and mutation's latency and status, by procedure (subscriptions last as long as they are open). */
const timing = t.middleware(async ({ ctx, path, type, next }) => {
  if (type === "subscription") return next();
  const end = ctx.metrics.startRequest(`trpc ${path}`, type === "query" ? "GET" : "POST");
  const result = await next();
  end(result.ok ? 200 : getHTTPStatusCodeFromError(result.error));
  return result;
});

export const publicProcedure = t.procedure.use(timing).use(csrfProtection);

export const learnerProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to do this." });
  return next({ ctx: { ...ctx, user: ctx.user } });
});

export const instructorProcedure = learnerProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== "instructor") {
    throw new TRPCError({ code: "FORBIDDEN", message: "Only instructors can see this." });
  }
  return next();
});
