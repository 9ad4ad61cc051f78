import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { RetryAfter } from "../trpc/retry-after.ts";

/** `{ error: <message> }` with the status a refusal means; a wait to honour goes in Retry-After. */
export function apiError(status: number, message: string, retryAfterSeconds?: number): Response {
  return Response.json(
    { error: message },
    {
      status,
      headers: {
        "cache-control": "no-store",
        ...(retryAfterSeconds !== undefined && { "retry-after": String(retryAfterSeconds) }),
      },
    },
  );
}

/** A refusal from the shared run logic (TRPCError) as an HTTP reply; anything else is rethrown. */
export function apiRefusal(error: unknown): Response {
  if (!(error instanceof TRPCError) || error.code === "INTERNAL_SERVER_ERROR") throw error;
  const wait = error.cause instanceof RetryAfter ? error.cause.seconds : undefined;
  return apiError(getHTTPStatusCodeFromError(error), error.message, wait);
}

export const unauthorized = () =>
  apiError(
    401,
    "This needs a valid API token in `Authorization: Bearer <token>`: make one on your account page (a revoked token no longer works).",
  );
