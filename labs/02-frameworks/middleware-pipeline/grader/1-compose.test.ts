import { expect, it } from "vitest";
import { learner, task } from "@backend-labs/graders";
import { escapedErrors, get, got } from "./helpers.ts";

task(1, "Compose middleware into an onion", () => {
  it("middleware runs as an onion, and the composed pipeline's own next() runs after its last middleware", async () => {
    const reply = await get("/layers");
    expect(reply.status, `GET /layers runs a pipeline built with your compose() (${got(reply)})`).toBe(200);
    expect(
      (reply.json as { trace?: unknown } | undefined)?.trace,
      "compose([outer, inner]) called with a final next(): each middleware's code before `await next()` runs in " +
        'order, then the final next (the "handler"), then the code after `await next()` in reverse order. A ' +
        'missing "handler" means your compose ignores the next it was given once the middlewares run out',
    ).toEqual(["outer:before", "inner:before", "handler", "inner:after", "outer:after"]);
  });

  it("a handler that awaits before answering is awaited by the whole pipeline", async () => {
    const reply = await get("/slow");
    expect(
      { status: reply.status, body: reply.json },
      "GET /slow sets its response after `await sleep(60)`. The server sends the response as soon as the " +
        "pipeline's promise resolves, so it must not resolve before the handler is done: next() must return " +
        "(and every middleware await) the promise of the rest of the chain",
    ).toEqual({ status: 200, body: { sleptMs: 60 } });
  });

  it("an error thrown after an await reaches the middleware around it instead of escaping", async () => {
    const before = (await escapedErrors()).length;
    const reply = await get("/slow-boom");
    const unhandled = async () =>
      (await escapedErrors()).slice(before).filter((line) => line.includes("unhandled rejection"));
    let escaped = await unhandled();
    // An error that escaped is thrown 20 ms after the early response: give it the time to show up.
    for (
      const deadline = Date.now() + 1_000;
      reply.status !== 500 && escaped.length === 0 && Date.now() < deadline;
    ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      escaped = await unhandled();
    }
    expect(
      escaped,
      `GET /slow-boom throws after an await, and the error became an unhandled rejection (${got(reply)}): some ` +
        "middleware, or compose itself, called next() without awaiting or returning its promise, so nothing " +
        "could catch the error and the response went out before the handler had finished",
    ).toEqual([]);
    expect(
      reply.status,
      `GET /slow-boom throws after an await: the request must fail with 500, not be answered as if nothing ` +
        `happened (${got(reply)})`,
    ).toBe(500);
  });

  it("calling next() twice rejects with 'next() called multiple times' and the rest of the chain runs once", async () => {
    const reply = await get("/next-twice");
    expect(
      reply.status,
      "GET /next-twice runs a pipeline whose first middleware calls next() twice. compose must reject the second " +
        "call with an Error('next() called multiple times'), or the rest of the chain runs twice (in a real app: " +
        `two writes, two responses), so the request must fail with 500 (${got(reply)})`,
    ).toBe(500);
    const deadline = Date.now() + 2_000;
    let output = await learner().output();
    while (!output.includes("next() called multiple times") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      output = await learner().output();
    }
    expect(
      output.includes("next() called multiple times"),
      "the error must say what went wrong: reject with the message 'next() called multiple times' (it then " +
        "appears in your error log line)",
    ).toBe(true);
  });
});
