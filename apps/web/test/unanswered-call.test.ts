import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { initTRPC, TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { describe, expect, it } from "vitest";
import { isUnanswered, retryUnanswered } from "../src/lib/unanswered-call.ts";

const t = initTRPC.create();
const router = t.router({
  refuse: t.procedure.mutation(() => {
    throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: "You can run your code 6 times a minute." });
  }),
  crash: t.procedure.mutation(() => {
    throw new Error("the database is down");
  }),
});

/** A real tRPC client; `fetch` either reaches the router in-process or goes to a closed loopback port. */
function client(reachServer: boolean) {
  const url = "http://127.0.0.1:1/api/trpc"; // port 1: nothing listens, the connection is refused
  const toRouter = (input: RequestInfo | URL, init?: RequestInit) =>
    fetchRequestHandler({ endpoint: "/api/trpc", req: new Request(input, init), router });
  return createTRPCClient<typeof router>({
    links: [httpBatchLink(reachServer ? { url, fetch: toRouter } : { url })],
  });
}

async function failureOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => expect.fail("the call should have failed"),
    (error: unknown) => error,
  );
}

describe("a call the server never answered", () => {
  it("is a refused connection, and may be sent again twice", async () => {
    const error = await failureOf(client(false).refuse.mutate());
    expect(isUnanswered(error)).toBe(true);
    expect([0, 1, 2].map((failures) => retryUnanswered(failures, error))).toEqual([true, true, false]);
  });

  it("is never a refusal or an error the server sent", async () => {
    for (const call of [client(true).refuse.mutate(), client(true).crash.mutate()]) {
      const error = await failureOf(call);
      expect(isUnanswered(error)).toBe(false);
      expect(retryUnanswered(0, error)).toBe(false);
    }
    expect(isUnanswered(new Error("not from tRPC"))).toBe(false);
  });
});
