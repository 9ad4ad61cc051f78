import { expect, it } from "vitest";
import { learner, task } from "@backend-labs/graders";
import { escapedErrors, get, got, graderRequestId, linesFor } from "./helpers.ts";

const multipleTimes = "next() called multiple times";

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
    const id = graderRequestId();
    const reply = await get("/next-twice", { "x-request-id": id });
    const runs = (reply.json as { runs?: unknown } | undefined)?.runs;
    expect(
      reply.status,
      "GET /next-twice runs compose([a, b, c]) where a calls next() twice, after its first next() has run b and " +
        "c. compose must reject the second call with an Error('next() called multiple times') (any next() of " +
        "an index the chain has already reached, not only the last one), or the rest of the chain runs again " +
        `(in a real app: two writes, two responses), so the request must fail with 500 (${got(reply)}` +
        `${typeof runs === "number" ? `: b ran ${runs} times` : ""})`,
    ).toBe(500);
    const last = await get("/next-twice-last", { "x-request-id": graderRequestId() });
    const lastRuns = (last.json as { runs?: unknown } | undefined)?.runs;
    expect(
      last.status,
      "GET /next-twice-last runs compose([a]) where a, the last middleware, calls next() twice. The second call " +
        "must reject as well: an index the chain has already reached includes the end of the chain, or the " +
        `composed pipeline's own next runs twice (${got(last)}${typeof lastRuns === "number" ? `: it ran ${lastRuns} times` : ""})`,
    ).toBe(500);
    const { errors } = await linesFor(id, (lines) => lines.errors.length > 0);
    const printed = [
      ...errors.map((line) => String(line.error)),
      ...(await learner().output())
        .split("\n")
        .filter((line) => line.includes("[server.ts]") && line.includes("next(")),
    ];
    const said = printed.find((text) => text.includes(multipleTimes)) ?? printed.join("\n");
    expect(
      said,
      `the second next() must reject with new Error("${multipleTimes}"), so the error says what went wrong ` +
        (printed.length > 0
          ? "(below: what your server printed about this request)"
          : "(your server printed no error line for this request)"),
    ).toContain(multipleTimes);
  });

  it("two requests running one composed pipeline at the same time do not disturb each other", async () => {
    const replies = await Promise.all([get("/overlap"), get("/overlap")]);
    for (const reply of replies) {
      expect(
        { status: reply.status, body: reply.json },
        "GET /overlap: two requests run through the same compose([a, b]) at the same time, and each must reach " +
          `b and answer 200 { reached: true } (${got(reply)}). A 500 "${multipleTimes}" here means the record ` +
          "of which next() was called lives in compose() itself and is shared by every run: keep it per run, " +
          "inside the function that compose returns",
      ).toEqual({ status: 200, body: { reached: true } });
    }
  });
});
