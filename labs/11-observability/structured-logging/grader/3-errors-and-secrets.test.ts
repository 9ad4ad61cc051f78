import { randomUUID, scryptSync, timingSafeEqual } from "node:crypto";
import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  call,
  createSession,
  got,
  graderRequestId,
  type LogLine,
  linesOf,
  output,
  printed,
  show,
  uid,
  waitForLines,
  waitForRequests,
  withMsg,
} from "./helpers.ts";

interface SerializedError {
  type?: unknown;
  message?: unknown;
  stack?: unknown;
  code?: unknown;
  cause?: SerializedError;
}

const errorsOf = (lines: LogLine[]): LogLine[] => lines.filter((line) => line.level === "error");

task(4, "Log errors once, at the boundary, as data", () => {
  it("a failing request answers 500 with its id and logs exactly one error line with the stack and cause as fields", async () => {
    const { end: before } = await output();
    const requestId = graderRequestId();
    const reply = await call("POST", "/orders", {
      headers: { "x-request-id": requestId },
      body: { item: "broken chair", quantity: 0 },
    });
    expect(
      reply.status,
      `POST /orders with quantity 0 fails in the database (CHECK quantity > 0) and the route rethrows: the ` +
        `boundary must answer 500 (${got(reply)})`,
    ).toBe(500);
    expect(
      reply.json,
      'the 500 body must be { "error": "internal error", "request_id": <the id> }: the id lets support find the ' +
        "logs; the error itself stays in the logs",
    ).toEqual({ error: "internal error", request_id: requestId });
    expect(reply.headers.get("x-request-id"), "a 500 carries X-Request-Id too").toBe(requestId);

    const { lines, garbage } = await waitForLines(
      ({ lines: soFar }) =>
        withMsg(linesOf(soFar, requestId), "request completed").length > 0 &&
        errorsOf(linesOf(soFar, requestId)).length > 0,
      before,
    );
    expect(
      garbage,
      "the failed request printed lines that are not JSON: log the error as one JSON line with the stack in a " +
        "field (console.error(error) prints the stack as many lines of text, which log stores split apart)",
    ).toEqual([]);
    const errors = errorsOf(linesOf(lines, requestId));
    expect(
      errors.length,
      `the failed request must print exactly one line with "level": "error" and its request_id (found ` +
        `${errors.length}): log at the boundary only; code that rethrows must not log too`,
    ).toBe(1);
    const err = errors[0]?.err as SerializedError | undefined;
    expect(
      err && { type: err.type, message: err.message },
      `the error line must hold the error under "err" as { type, message, stack, ... }. JSON.stringify of an ` +
        `Error gives {} because its properties are not enumerable: copy them out. Got ${show(errors[0])}`,
    ).toEqual({ type: "Error", message: "could not create order for broken chair" });
    expect(
      typeof err?.stack === "string" &&
        err.stack.includes("could not create order") &&
        /\n\s+at /.test(err.stack),
      "err.stack must be the error's stack (error.stack), a string whose frames stay inside the one JSON line",
    ).toBe(true);
    expect(
      err?.cause && { type: err.cause.type, code: err.cause.code },
      "the route wrapped the database error: new Error(..., { cause }). err.cause must be serialized the same " +
        "way, with its own properties: the SQLSTATE code 23514 (check_violation) is what tells you why",
    ).toEqual({ type: expect.any(String) as unknown, code: "23514" });
    expect(String(err?.cause?.message), "err.cause.message must be the database's message").toMatch(
      /check constraint/,
    );
    expect(
      withMsg(linesOf(lines, requestId), "request completed")[0]?.status,
      "the access line of the failed request must say status 500",
    ).toBe(500);
  });

  it("an error thrown by the route's own code is caught at the boundary and logged the same way", async () => {
    const { end: before } = await output();
    const requestId = graderRequestId();
    // A malformed percent-escape: decodeURIComponent() in the route throws a URIError.
    const reply = await call("GET", "/orders/%E0%A4%A", { headers: { "x-request-id": requestId } });
    expect(reply.status, `the route threw a URIError: the boundary must answer 500 (${got(reply)})`).toBe(
      500,
    );
    const { lines, garbage } = await waitForRequests([requestId], before);
    expect(garbage, "the error must be logged as one JSON line, not as text").toEqual([]);
    const errors = errorsOf(linesOf(lines, requestId));
    expect(
      errors.map((line) => (line.err as SerializedError | undefined)?.type),
      `exactly one error line for request ${requestId}, whose err.type is the error's name (got ${show(errors)})`,
    ).toEqual(["URIError"]);
  });
});

task(5, "Keep secrets out of the logs", () => {
  it("Authorization and Cookie headers are redacted wherever they are logged, and still work", async () => {
    const email = `${uid("ada")}@example.com`;
    const token = await createSession(email);
    const cookie = `session=${randomUUID()}`;
    const requestId = graderRequestId();
    const reply = await call("GET", "/me", {
      headers: {
        authorization: `Bearer ${token}`,
        cookie,
        "user-agent": "grader/1.0",
        "x-request-id": requestId,
      },
    });
    expect(
      reply.status,
      `GET /me with a valid bearer token must answer 200 (${got(reply)}). A 401 here means the route saw ` +
        "[REDACTED] as its Authorization header: redact a copy of the fields, never the objects passed to log",
    ).toBe(200);
    expect(reply.json, "GET /me answers the email of the session's user").toEqual({ email });

    const { lines } = await waitForRequests([requestId]);
    const text = await printed();
    expect(
      text.includes(token),
      "the bearer token was printed: anyone who can read the logs could use it. Replace the value of any " +
        'field named authorization or cookie, at any depth, with "[REDACTED]"',
    ).toBe(false);
    expect(text.includes(cookie), "the Cookie header's session was printed: redact cookie too").toBe(false);
    const authenticating = withMsg(linesOf(lines, requestId), "authenticating")[0];
    expect(
      (authenticating?.headers ?? {}) as Record<string, unknown>,
      'the route logs log.debug("authenticating", { headers }): keep the harmless headers and redact the ' +
        `secret ones, so the line stays useful. Got ${show(authenticating)}`,
    ).toMatchObject({
      authorization: "[REDACTED]",
      cookie: "[REDACTED]",
      "user-agent": "grader/1.0",
      "x-request-id": requestId,
    });
  });

  it("password, token and secret fields are redacted at any depth without changing the caller's object", async () => {
    const email = `${uid("grace")}@example.com`;
    const password = `pw-${randomUUID()}`;
    const apiToken = `tok-${randomUUID()}`;
    const requestId = graderRequestId();
    const reply = await call("POST", "/users", {
      headers: { "x-request-id": requestId },
      body: {
        email,
        password,
        profile: { name: "Grace", api_token: apiToken, devices: [{ secret: apiToken }] },
      },
    });
    expect(reply.status, `POST /users { email, password, profile } must answer 201 (${got(reply)})`).toBe(
      201,
    );

    const { lines } = await waitForRequests([requestId]);
    const text = await printed();
    expect(
      text.includes(password),
      'the password was printed: a field whose name contains "password" must be logged as "[REDACTED]"',
    ).toBe(false);
    expect(
      text.includes(apiToken),
      'profile.api_token and profile.devices[0].secret were printed: redact fields whose name contains "token" ' +
        'or "secret" at any depth, inside arrays too',
    ).toBe(false);
    const received = withMsg(linesOf(lines, requestId), "signup received")[0];
    expect(
      received?.user,
      `the route logs log.info("signup received", { user: body }): redact the secrets and keep the rest. Got ${show(received)}`,
    ).toEqual({
      email,
      password: "[REDACTED]",
      profile: { name: "Grace", api_token: "[REDACTED]", devices: [{ secret: "[REDACTED]" }] },
    });

    const { rows } = await postgres().query<{ password_hash: string }>(
      "SELECT password_hash FROM users WHERE email = $1",
      [email],
    );
    const [salt = "", key = ""] = (rows[0]?.password_hash ?? "").split(":");
    const matches =
      key.length === 64 &&
      timingSafeEqual(scryptSync(password, Buffer.from(salt, "hex"), 32), Buffer.from(key, "hex"));
    expect(
      matches,
      "the stored password hash is not the hash of the password sent: the route hashed what was left in the " +
        "body after logging it. Redaction must build a redacted copy and leave the caller's object alone",
    ).toBe(true);
  });
});
