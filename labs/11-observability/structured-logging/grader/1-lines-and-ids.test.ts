import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  call,
  createOrder,
  got,
  graderRequestId,
  levels,
  linesOf,
  output,
  show,
  uuidPattern,
  waitForLines,
  waitForRequests,
  withMsg,
} from "./helpers.ts";

/** How long the slow request's query sleeps, and a bound no duration in milliseconds can reach here. */
const SLOW_MS = 300;
const MAX_MS = 30_000;
const isoUtc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

task(1, "Write one JSON line per event", () => {
  it("every line printed is one JSON object with time, level and msg, the event's fields at the top level", async () => {
    const orderId = await createOrder("blue mug");
    const requestId = graderRequestId();
    const reply = await call("GET", `/orders/${orderId}`, { headers: { "x-request-id": requestId } });
    expect(reply.status, `GET /orders/${orderId} of a stored order must answer 200 (${got(reply)})`).toBe(
      200,
    );

    const { lines, garbage } = await waitForLines(({ lines: soFar }) =>
      withMsg(soFar, "order loaded").some((line) => line.order_id === orderId),
    );
    expect(
      garbage,
      "every line the service prints must be one whole JSON object: write JSON.stringify(line) + '\\n' " +
        "with one process.stdout.write, never console.log(text, object), which prints several lines of text",
    ).toEqual([]);

    const listening = withMsg(lines, "listening");
    expect(
      listening.length,
      'server.ts logs log.info("listening", { port }) at startup: that line must be printed as JSON too',
    ).toBe(1);
    expect(
      listening[0]?.request_id ?? null,
      "the startup line is not part of any request: it must have no request_id (currentRequestId() is undefined outside a request)",
    ).toBeNull();

    for (const line of lines) {
      expect(
        typeof line.time === "string" && isoUtc.test(line.time),
        `"time" must be the moment of the event as an ISO 8601 UTC string (new Date().toISOString()): ${show(line)}`,
      ).toBe(true);
      expect(
        Math.abs(Date.parse(line.time as string) - Date.now()),
        `"time" must be the time the line was written, not a fixed or start-up time: ${show(line)}`,
      ).toBeLessThan(5 * 60_000);
      expect(levels, `"level" must be one of ${levels.join(", ")}, as a string: ${show(line)}`).toContain(
        line.level,
      );
      expect(
        typeof line.msg === "string" && line.msg.length > 0,
        `"msg" must be the message passed to log.<level>(msg, fields): ${show(line)}`,
      ).toBe(true);
      const keys = Object.keys(line);
      expect(
        keys.slice(0, "request_id" in line ? 4 : 3),
        "every line starts with time, level, msg and (inside a request) request_id, in that order, and only " +
          `then the caller's fields: build the line object with those keys first. ${show(line)}`,
      ).toEqual(["time", "level", "msg", "request_id"].slice(0, "request_id" in line ? 4 : 3));
    }

    const loaded = withMsg(lines, "order loaded").find((line) => line.order_id === orderId);
    expect(
      loaded !== undefined,
      `the route logs log.info("order loaded", { order_id, item }): no such line with "order_id": ` +
        `"${orderId}" at the top level was printed`,
    ).toBe(true);
    expect(
      { level: loaded!.level, order_id: loaded!.order_id, item: loaded!.item },
      'log.info("order loaded", { order_id, item }) must print level "info" and the fields as top-level keys ' +
        "of the line, not nested under another key, so a log store can index them",
    ).toEqual({ level: "info", order_id: orderId, item: "blue mug" });
  });
});

task(2, "Give each request a correlation id", () => {
  it("a valid X-Request-Id is reused: echoed in the response and on every line of the request", async () => {
    const orderId = await createOrder("green teapot");
    const requestId = graderRequestId();
    const sentAt = performance.now();
    const reply = await call("GET", `/orders/${orderId}?delay_ms=${SLOW_MS}`, {
      headers: { "x-request-id": requestId },
    });
    expect(reply.status, `GET /orders/${orderId} must answer 200 (${got(reply)})`).toBe(200);
    expect(
      reply.headers.get("x-request-id"),
      "the caller sent a valid X-Request-Id: reuse it and echo it in the response's X-Request-Id header, so " +
        "the caller can quote it when something goes wrong",
    ).toBe(requestId);

    const missingId = graderRequestId();
    const missing = await call("GET", "/no-such-route", { headers: { "x-request-id": missingId } });
    expect(missing.status, `an unknown route answers 404 (${got(missing)})`).toBe(404);
    expect(
      missing.headers.get("x-request-id"),
      "every response carries X-Request-Id, a 404 too: set the header at the boundary before the route runs",
    ).toBe(missingId);

    // The longest id allowed, with every punctuation mark allowed: 64 characters of A-Z a-z 0-9 . _ -
    const longestId = `Grader.${randomUUID()}_`.padEnd(64, "x");
    const longest = await call("GET", "/orders/none", { headers: { "x-request-id": longestId } });
    expect(
      longest.headers.get("x-request-id"),
      `X-Request-Id "${longestId}" has 64 characters, all from A-Z a-z 0-9 . _ -: it is valid and must be ` +
        "reused as it is (check the length bound: 1 to 64 inclusive, and which characters you allow)",
    ).toBe(longestId);

    const { lines } = await waitForRequests([requestId, missingId, longestId]);
    // From before the slow request was sent until its lines were read: the service's own timings of that
    // request happened inside this span, so no correct duration_ms can exceed it.
    const observedMs = performance.now() - sentAt;
    const mine = linesOf(lines, requestId);
    expect(
      mine.map((line) => line.msg),
      `GET /orders/${orderId} with X-Request-Id ${requestId} must print, each with "request_id": "${requestId}", ` +
        'a "db query" line (src/db.ts), the route\'s "order loaded" line and the boundary\'s "request completed" line',
    ).toEqual(["db query", "order loaded", "request completed"]);
    const completed = withMsg(mine, "request completed")[0]!;
    expect(
      completed,
      '"request completed" must hold method, the path without its query string, the status sent and ' +
        "duration_ms, a number of milliseconds",
    ).toMatchObject({
      level: "info",
      method: "GET",
      path: `/orders/${orderId}`,
      status: 200,
      duration_ms: expect.any(Number) as unknown,
    });
    expect(
      completed.duration_ms,
      `the request's query slept ${SLOW_MS} ms, so "request completed" must say duration_ms >= ${SLOW_MS}: ` +
        "the time from the request's arrival to the end of the route, in milliseconds (not seconds)",
    ).toBeGreaterThanOrEqual(SLOW_MS);
    expect(
      completed.duration_ms,
      `duration_ms ${String(completed.duration_ms)} is far more than the request took: milliseconds, not ` +
        "microseconds or nanoseconds (performance.now() and Date.now() count milliseconds)",
    ).toBeLessThan(MAX_MS);
    expect(
      completed.duration_ms,
      `"request completed" says duration_ms ${String(completed.duration_ms)}, yet the grader saw the whole ` +
        `request, from sending it to reading its lines, take ${observedMs.toFixed(0)} ms: duration_ms is the ` +
        "time elapsed since the request arrived (performance.now() - start, taken when the request arrives)",
    ).toBeLessThanOrEqual(observedMs);
    const dbLine = withMsg(mine, "db query")[0]!;
    expect(
      dbLine,
      '"db query" must be logged at level "debug" with the statement as sql, duration_ms and rows (the row count)',
    ).toMatchObject({
      level: "debug",
      sql: expect.stringContaining("FROM orders") as unknown,
      duration_ms: expect.any(Number) as unknown,
      rows: 1,
    });
    expect(
      dbLine.duration_ms,
      `the query slept ${SLOW_MS} ms, so its "db query" line must say duration_ms >= ${SLOW_MS}: time the ` +
        "statement from before pool.query() until it resolved, in milliseconds",
    ).toBeGreaterThanOrEqual(SLOW_MS);
    expect(dbLine.duration_ms, "the db query's duration_ms must be milliseconds").toBeLessThan(MAX_MS);
    expect(
      dbLine.duration_ms,
      `the "db query" line says duration_ms ${String(dbLine.duration_ms)}, more than the whole request it ran ` +
        `in (${String(completed.duration_ms)} ms in "request completed"): time the statement as ` +
        "performance.now() - start, start taken just before pool.query()",
    ).toBeLessThanOrEqual(completed.duration_ms as number);
    const missingCompleted = withMsg(linesOf(lines, missingId), "request completed");
    expect(
      missingCompleted.length,
      `the request answered 404 must log one "request completed" line with "request_id": "${missingId}"`,
    ).toBe(1);
    expect(
      missingCompleted[0]!.status,
      "the access line of a request answered 404 must say status 404: read response.statusCode after the route",
    ).toBe(404);
    expect(
      linesOf(lines, longestId).map((line) => line.msg),
      `the lines of the request with X-Request-Id "${longestId}" must carry it as request_id`,
    ).toEqual(["db query", "order not found", "request completed"]);
  });

  it("without X-Request-Id, the trace id of a valid W3C traceparent is the request id", async () => {
    // Ids that begin and end with zeros, as real ones often do (the W3C example's trace id starts with 0):
    // only an id that is all zeros is invalid.
    const traceId = `00${randomHex(28)}00`;
    const traceparent = `00-${traceId}-0${randomHex(14)}0-01`;
    const reply = await call("GET", "/orders/none", { headers: { traceparent } });
    expect(
      reply.headers.get("x-request-id"),
      `a request with only traceparent: ${traceparent} continues that trace: its id is the trace id, the ` +
        "32 hex digits after the version, echoed in X-Request-Id. Ids may begin or end with zeros: only an " +
        "id that is all zeros is invalid (anchor the all-zeros check at both ends)",
    ).toBe(traceId);

    const requestId = graderRequestId();
    const both = await call("GET", "/orders/none", {
      headers: { traceparent: `00-${randomHex(32)}-${randomHex(16)}-01`, "x-request-id": requestId },
    });
    expect(
      both.headers.get("x-request-id"),
      "when a valid X-Request-Id and a traceparent both arrive, X-Request-Id wins",
    ).toBe(requestId);

    const fallbackTraceId = randomHex(32);
    const fallback = await call("GET", "/orders/none", {
      headers: { "x-request-id": "not valid!", traceparent: `00-${fallbackTraceId}-${randomHex(16)}-00` },
    });
    expect(
      fallback.headers.get("x-request-id"),
      'an invalid X-Request-Id ("not valid!") is ignored, and then a valid traceparent comes next: its ' +
        "trace id is the request id",
    ).toBe(fallbackTraceId);

    const { lines } = await waitForRequests([traceId, requestId, fallbackTraceId]);
    expect(
      linesOf(lines, traceId).map((line) => line.msg),
      `the lines of the request must carry the trace id "${traceId}" as request_id`,
    ).toEqual(["db query", "order not found", "request completed"]);
  });

  it("an invalid or missing id is replaced by a fresh UUID, which the request's lines carry", async () => {
    const trace = randomHex(32);
    const parent = randomHex(16);
    const invalid: [Record<string, string>, string][] = [
      [{}, "no X-Request-Id and no traceparent"],
      [{}, "no X-Request-Id and no traceparent (a second time)"],
      [{ "x-request-id": "" }, "an empty X-Request-Id (it must have 1 to 64 characters)"],
      [{ "x-request-id": 'has spaces and "quotes"' }, "an X-Request-Id with spaces and quotes"],
      [{ "x-request-id": "x".repeat(65) }, "an X-Request-Id of 65 characters"],
      [{ "x-request-id": '{"level":"error"}' }, "an X-Request-Id holding JSON"],
      [{ traceparent: `00-${"0".repeat(32)}-${parent}-01` }, "a traceparent whose trace id is all zeros"],
      [{ traceparent: `00-${trace}-${"0".repeat(16)}-01` }, "a traceparent whose parent id is all zeros"],
      [{ traceparent: `00-${trace.toUpperCase()}-${parent}-01` }, "a traceparent with upper-case hex"],
      [{ traceparent: `ff-${trace}-${parent}-01` }, "a traceparent of version ff instead of 00"],
      [{ traceparent: `x00-${trace}-${parent}-01` }, "a traceparent with more before its version"],
      [{ traceparent: `00-${trace}-${parent}-01-extra` }, "a traceparent with more after its flags"],
      [{ traceparent: `00-${trace}-${parent}-1` }, "a traceparent whose flags are one digit"],
      [{ traceparent: "00-abc-def-01" }, "a traceparent with ids too short"],
    ];
    const generated: string[] = [];
    for (const [headers, what] of invalid) {
      const reply = await call("GET", "/orders/none", { headers });
      const echoed = reply.headers.get("x-request-id");
      expect(
        echoed !== null && uuidPattern.test(echoed),
        `a request with ${what} (${JSON.stringify(headers)}) must get a generated id (crypto.randomUUID()) in ` +
          `X-Request-Id; it got ${echoed === null ? "no X-Request-Id header" : `"${echoed}"`}. An X-Request-Id ` +
          "is reused only if it is 1 to 64 of A-Z a-z 0-9 . _ -, a traceparent only if it is exactly " +
          "00-<32 lower-case hex>-<16 lower-case hex>-<2 lower-case hex> with neither id all zeros: anything " +
          "else could forge log lines",
      ).toBe(true);
      generated.push(echoed!);
    }
    expect(
      new Set(generated).size,
      "each request without a usable id needs its own new id: generate it per request, not once per process",
    ).toBe(generated.length);

    const { lines } = await waitForRequests(generated);
    for (const id of generated) {
      expect(
        linesOf(lines, id).map((line) => line.msg),
        `the request answered with X-Request-Id ${id} must log its lines with that same id as request_id`,
      ).toEqual(["db query", "order not found", "request completed"]);
    }
    expect((await output()).garbage, "every line must stay a JSON object, whatever ids clients send").toEqual(
      [],
    );
  });
});

function randomHex(length: number): string {
  let hex = "";
  while (hex.length < length) hex += Math.floor(Math.random() * 16).toString(16);
  // Never all zeros: the grader means this one to be valid.
  return hex.startsWith("0") ? `a${hex.slice(1)}` : hex;
}
