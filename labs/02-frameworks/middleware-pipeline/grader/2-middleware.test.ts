import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import { get, got, graderRequestId, leaks, linesFor, type Reply, uuidPattern } from "./helpers.ts";

function leaked(reply: Reply): string[] {
  return leaks.filter((pattern) => pattern.test(reply.text)).map(String);
}

task(2, "Give every request an id", () => {
  it("a valid incoming X-Request-Id is reused: echoed in the response and handed to the handlers", async () => {
    const id = graderRequestId();
    const reply = await get("/hello", { "x-request-id": id });
    expect(reply.status, `GET /hello must answer 200 (${got(reply)})`).toBe(200);
    expect(
      reply.headers.get("x-request-id"),
      "the caller sent a valid X-Request-Id: reuse it (so one id follows the request through every service) " +
        "and echo it in the response's X-Request-Id header",
    ).toBe(id);
    expect(
      (reply.json as { requestId?: unknown } | undefined)?.requestId,
      "handlers read the id from ctx.requestId (GET /hello answers it): set it before calling next()",
    ).toBe(id);
    expect(
      (reply.json as { requestIdHeader?: unknown } | undefined)?.requestIdHeader ?? "(no header yet)",
      "GET /hello answers the X-Request-Id response header as the handler sees it: requestId() must set the " +
        "header before calling next(), so everything after it (handlers, the error handler) finds it set",
    ).toBe(id);

    for (const [valid, what] of [
      ["A", "1 character"],
      [
        `${"Ab9._-".repeat(10)}abcd`,
        "64 characters using every allowed kind: letters, digits, '.', '_' and '-'",
      ],
    ] as const) {
      const other = await get("/hello", { "x-request-id": valid });
      expect(
        other.headers.get("x-request-id") ?? "(no X-Request-Id header)",
        `X-Request-Id ${JSON.stringify(valid)} (${what}) is valid and must be reused as it is: the rule is 1 to ` +
          "64 characters from A-Z a-z 0-9 . _ -",
      ).toBe(valid);
    }
  });

  it("a missing or invalid X-Request-Id is replaced by a fresh UUID, different for each request", async () => {
    const invalid = ['has spaces and "quotes"', "x".repeat(65), "../../etc/passwd", "<script>", "", "a+b"];
    for (const sent of [undefined, ...invalid]) {
      const reply = await get("/hello", sent === undefined ? {} : { "x-request-id": sent });
      const what = sent === undefined ? "without X-Request-Id" : `with X-Request-Id ${JSON.stringify(sent)}`;
      const echoed = reply.headers.get("x-request-id") ?? "";
      expect(
        echoed,
        `a request ${what} must get a generated id (crypto.randomUUID()) in its X-Request-Id response header. ` +
          "An incoming id is reused only if it is 1 to 64 letters, digits, '.', '_' or '-': anything else could " +
          "forge log lines or fill the logs",
      ).toMatch(uuidPattern);
      expect(
        (reply.json as { requestId?: unknown } | undefined)?.requestId,
        `ctx.requestId must be the id that was sent back in the header (request ${what})`,
      ).toBe(echoed);
    }
    const [first, second] = [await get("/hello"), await get("/hello")];
    expect(
      first.headers.get("x-request-id"),
      "two requests without X-Request-Id must get two different ids: generate one per request, not per process",
    ).not.toBe(second.headers.get("x-request-id"));
  });
});

task(3, "Log one JSON line per request", () => {
  it("each request prints one JSON access line with method, path, status, duration_ms and request_id", async () => {
    const id = graderRequestId();
    const sent = performance.now();
    const reply = await get("/hello?debug=1", { "x-request-id": id });
    // The middleware's next() runs inside the grader's request: its duration cannot be longer.
    const roundTripMs = performance.now() - sent;
    expect(reply.status, `GET /hello must answer 200 (${got(reply)})`).toBe(200);
    const { access } = await linesFor(id);
    expect(
      access.length,
      `the request with X-Request-Id ${id} must print exactly one JSON line on stdout with "msg": "request" ` +
        `and "request_id": "${id}" (found ${access.length}); each line must be a whole JSON object`,
    ).toBe(1);
    const line = access[0]!;
    expect(
      {
        level: line.level,
        method: line.method,
        path: line.path,
        status: line.status,
        request_id: line.request_id,
      },
      'the access line must hold "level": "info", the method, the path without its query string, the final ' +
        "status and the id",
    ).toEqual({ level: "info", method: "GET", path: "/hello", status: 200, request_id: id });
    expect(typeof line.duration_ms, "duration_ms must be a number of milliseconds").toBe("number");
    expect(line.duration_ms as number, "duration_ms cannot be negative").toBeGreaterThanOrEqual(0);
    expect(
      line.duration_ms as number,
      `GET /hello took ${roundTripMs.toFixed(1)} ms from the grader's request to its response, yet its duration_ms ` +
        `is ${String(line.duration_ms)}: duration_ms is the time this request spent in next(). Start the clock ` +
        "inside the middleware, for each request (not once when accessLog() is created)",
    ).toBeLessThanOrEqual(roundTripMs + 1);

    const slowId = graderRequestId();
    const slowReply = await get("/slow", { "x-request-id": slowId });
    expect(slowReply.status, `GET /slow must answer 200 (${got(slowReply)})`).toBe(200);
    const slow = (await linesFor(slowId)).access[0];
    expect(slow, `GET /slow with X-Request-Id ${slowId} must print its access line too`).toBeDefined();
    const duration = slow!.duration_ms;
    expect(typeof duration, "duration_ms must be a number of milliseconds").toBe("number");
    expect(
      duration,
      `GET /slow takes at least 60 ms, but its duration_ms is ${String(duration)}. It must be at least 50: ` +
        "measure in milliseconds (a difference of performance.now() values already is), from before next() " +
        "until next() has finished",
    ).toBeGreaterThanOrEqual(50);
    expect(
      duration,
      `GET /slow takes about 60 ms, but its duration_ms is ${String(duration)}: start the clock for each ` +
        "request inside the middleware (not once when accessLog() is created), and report milliseconds, not " +
        "microseconds or nanoseconds",
    ).toBeLessThan(10_000);
  });

  it("a generated request id is the one in the access line", async () => {
    const reply = await get("/hello");
    const id = reply.headers.get("x-request-id") ?? "(no X-Request-Id header)";
    const { access } = await linesFor(id);
    expect(
      access.length,
      `the request was given the id ${id} in its response header, so its access line must carry ` +
        `"request_id": "${id}": log ctx.requestId, not the incoming header`,
    ).toBe(1);
  });
});

task(4, "Turn errors into problem responses without leaking internals", () => {
  it("a thrown HttpError answers its status with an application/problem+json body", async () => {
    const id = graderRequestId();
    const reply = await get("/items/7", { "x-request-id": id });
    expect(
      reply.status,
      `GET /items/7 throws HttpError(404, "item 7 not found"): answer 404 (${got(reply)})`,
    ).toBe(404);
    expect(
      reply.headers.get("content-type") ?? "",
      "error responses are problem details (RFC 9457): Content-Type: application/problem+json",
    ).toMatch(/^application\/problem\+json/i);
    expect(
      reply.json,
      "the problem body must be { type: 'about:blank', title: the status's reason phrase (http.STATUS_CODES), " +
        "status, detail: the HttpError's message, request_id }",
    ).toEqual({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: "item 7 not found",
      request_id: id,
    });
    expect(
      reply.headers.get("x-request-id") ?? "(no X-Request-Id header)",
      "error responses keep the headers set before the error, X-Request-Id included",
    ).toBe(id);

    const downId = graderRequestId();
    const down = await get("/maintenance", { "x-request-id": downId });
    expect(down.status, `GET /maintenance throws HttpError(503, ...): answer 503 (${got(down)})`).toBe(503);
    expect(
      down.headers.get("content-type") ?? "(no Content-Type header)",
      "a 503 is a problem response too: Content-Type: application/problem+json",
    ).toMatch(/^application\/problem\+json/i);
    expect(
      leaked(down),
      "an HttpError with a 5xx status has expose === false: its message describes internals (here a database " +
        "host) and must not reach the client. Send detail only when error.expose is true",
    ).toEqual([]);
    expect(
      down.json,
      "the 503 problem is { type: 'about:blank', title: 'Service Unavailable' (its reason phrase), status: 503, " +
        "request_id }, without detail",
    ).toEqual({ type: "about:blank", title: "Service Unavailable", status: 503, request_id: downId });

    const { errors } = await linesFor(downId, (lines) => lines.errors.length > 0);
    expect(
      errors.length,
      "an HttpError that is not exposed (a 5xx) is not explained to the client, so it must be logged: exactly " +
        `one JSON line with "level": "error" and "request_id": "${downId}" (found ${errors.length}). Log every ` +
        "error except an exposed HttpError, not only errors that are not HttpErrors",
    ).toBe(1);
    expect(
      String(errors[0]!.error),
      "the error line of GET /maintenance must hold the HttpError's message as `error`",
    ).toContain("40 s behind the primary");
  });

  it("an unexpected error answers 500 without its message or stack, and is logged once with the request id", async () => {
    const id = graderRequestId();
    const reply = await get("/boom", { "x-request-id": id });
    expect(reply.status, `GET /boom throws a plain Error: answer 500 (${got(reply)})`).toBe(500);
    expect(
      reply.headers.get("content-type") ?? "",
      "a 500 is a problem response too: Content-Type: application/problem+json (text/plain means the error " +
        "escaped your pipeline and server.ts answered)",
    ).toMatch(/^application\/problem\+json/i);
    expect(
      leaked(reply),
      "the 500 body gives away the error's message or stack (a password, a host name, file paths): an attacker " +
        "learns your internals. Send a generic problem; the details belong in the log",
    ).toEqual([]);
    expect(reply.json, "the body must be the generic problem for 500, with the request id").toMatchObject({
      type: "about:blank",
      title: "Internal Server Error",
      status: 500,
      request_id: id,
    });
    expect(
      Object.keys(reply.json ?? {}),
      "a 500 has no detail at all: whatever it would say about an unexpected error is for the log only",
    ).not.toContain("detail");
    expect(
      reply.headers.get("x-request-id"),
      "error responses must carry X-Request-Id too: it is what a user quotes to support",
    ).toBe(id);

    const { errors } = await linesFor(id, (lines) => lines.errors.length > 0);
    expect(
      errors.length,
      `the unexpected error must be logged as exactly one JSON line with "level": "error" and "request_id": ` +
        `"${id}", so support can find it from the id the user quotes`,
    ).toBe(1);
    expect(
      { level: errors[0]!.level, msg: errors[0]!.msg },
      'the error line is { "level": "error", "msg": "request failed", "request_id", "error", "stack" }',
    ).toEqual({ level: "error", msg: "request failed" });
    expect(
      String(errors[0]!.error),
      "the error line's `error` must hold the error's message: the log is where the details go",
    ).toContain("password authentication failed");
    expect(typeof errors[0]!.stack, "the error line must hold the stack trace as `stack`").toBe("string");

    const later = await get("/slow-boom", { "x-request-id": graderRequestId() });
    expect(later.status, `GET /slow-boom must answer 500 (${got(later)})`).toBe(500);
    expect(leaked(later), "the 500 for GET /slow-boom must not give away the error either").toEqual([]);
  });
});

task(5, "Assemble the pipeline in the right order", () => {
  it("failed requests are logged once, with the status the client received", async () => {
    for (const [path, status] of [
      ["/items/7", 404],
      ["/boom", 500],
      ["/maintenance", 503],
    ] as const) {
      const id = graderRequestId();
      const reply = await get(path, { "x-request-id": id });
      const { access } = await linesFor(id);
      expect(
        access.map((line) => line.status),
        `GET ${path} was answered ${reply.status}, and must print exactly one access line with status ${status}. ` +
          "A missing line, or a 404 (the status before any route set one), means the access log did not see " +
          "the response the error handler made: the access log must wrap the error handler",
      ).toEqual([status]);
    }
  });
});
