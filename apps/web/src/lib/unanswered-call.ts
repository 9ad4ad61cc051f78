import { TRPCClientError } from "@trpc/client";

const maxAttempts = 3;

/**
 * React Query's `retry` for calls that are safe to send again: retries only a call the server never
 * answered (the connection dropped, Wi-Fi switched, the server restarted), never a refusal or an error
 * the server sent, and at most twice.
 */
export function retryUnanswered(failureCount: number, error: unknown): boolean {
  return failureCount < maxAttempts - 1 && isUnanswered(error);
}

/** A tRPC call with no answer from the server: the error carries no tRPC error data. */
export function isUnanswered(error: unknown): boolean {
  return error instanceof TRPCClientError && error.data == null;
}
