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

/** The failed request must have exactly one error line with its id; says why not, by what was printed. */
function expectOneErrorLine(errors: LogLine[], lines: LogLine[], requestId: string): void {
  const unlabelled = errorsOf(lines).filter(
    (line) => line.request_id === undefined && line.msg !== "listening",
  );
  const why =
    errors.length > 1
      ? `found ${errors.length}: log the error once, at the boundary; code that rethrows it (query(), the ` +
        `route) must not log it too. They were:\n${errors.map(show).join("\n")}`
      : unlabelled.length > 0
        ? "found none with this id, but an error line without request_id: log it inside runWithRequestId(), " +
          `where currentRequestId() is the request's id. It was: ${show(unlabelled.at(-1))}`
        : 'found none: when the route throws, the boundary logs log.error("request failed", { err: error, ... })';
  expect(
    errors.length,
    `the failed request must print exactly one line with "level": "error" and "request_id": "${requestId}"; ${why}`,
  ).toBe(1);
}

/** Orders whose item starts with this cannot be marked notified: the warehouse step after the response fails. */
const REFUSED_ITEM = "refused by the warehouse";

/** A trigger (the grader's own, as superuser) that makes the UPDATE of notifyWarehouse() fail for those orders. */
async function refuseWarehouseNotifications(): Promise<void> {
  await postgres().query(`
    CREATE OR REPLACE FUNCTION grader_refuse_notification() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.item LIKE '${REFUSED_ITEM}%' THEN
        RAISE EXCEPTION 'the warehouse refused order %', NEW.id;
      END IF;
      RETURN NEW;
    END $$`);
  await postgres().query(`
    CREATE OR REPLACE TRIGGER grader_refuse_notification BEFORE UPDATE ON orders
      FOR EACH ROW EXECUTE FUNCTION grader_refuse_notification()`);
}

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
    expect(
      reply.headers.get("content-type") ?? "",
      'the 500 body is JSON, so say so: send it with "content-type: application/json", or clients will not ' +
        "parse it and show the request_id",
    ).toMatch(/^application\/json/);

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
    const mine = linesOf(lines, requestId);
    const errors = errorsOf(mine);
    expectOneErrorLine(errors, lines, requestId);
    expect(
      mine.map((line) => line.msg).sort(),
      "a request whose statement failed logs the boundary's error line and its access line, nothing more: " +
        'query() logs "db query" only after a statement that succeeds, and does not log the error it rethrows',
    ).toEqual(["request completed", "request failed"]);
    const err = errors[0]!.err as SerializedError | undefined;
    expect(
      typeof err === "object" && err !== null,
      `the error line must hold the error under "err" as { type, message, stack, ... }. Got ${show(errors[0])}`,
    ).toBe(true);
    expect(
      { type: err!.type, message: err!.message },
      `err must be { type: error.name, message: error.message, stack, ... }. JSON.stringify of an Error gives ` +
        `{} because its properties are not enumerable: copy them out. Got ${show(errors[0])}`,
    ).toEqual({ type: "Error", message: "could not create order for broken chair" });
    expect(
      typeof err!.stack === "string" &&
        err!.stack.includes("could not create order") &&
        /\n\s+at /.test(err!.stack),
      "err.stack must be the error's stack (error.stack), a string whose frames stay inside the one JSON line",
    ).toBe(true);
    const cause = err!.cause;
    expect(
      typeof cause === "object" && cause !== null,
      "the route wrapped the database error: new Error(..., { cause }). err.cause must be that error, " +
        `serialized the same way as err. Got ${show(err)}`,
    ).toBe(true);
    expect(
      { type: typeof cause!.type, code: cause!.code },
      "err.cause must be serialized like err: its type, and its own properties, such as pg's code: the SQLSTATE " +
        `23514 (check_violation) is what tells you why. Got ${show(cause)}`,
    ).toEqual({ type: "string", code: "23514" });
    expect(
      typeof cause!.message === "string" && /check constraint/.test(cause!.message),
      `err.cause.message must be the database's message ("new row ... violates check constraint ..."). Got ${show(cause)}`,
    ).toBe(true);
    expect(
      typeof cause!.stack === "string" && cause!.stack.length > 0,
      `err.cause must carry its stack too, as a string, like err. Got ${show(cause)}`,
    ).toBe(true);
    expect(
      withMsg(mine, "request completed")[0]!.status,
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
    expectOneErrorLine(errors, lines, requestId);
    expect(
      (errors[0]!.err as SerializedError | undefined)?.type === "URIError",
      `the error line's err.type must be the error's name, URIError (got ${show(errors[0])})`,
    ).toBe(true);
  });

  it("a failure after the response is one warn line with the request's id and the error as data", async () => {
    await refuseWarehouseNotifications();
    const { end: before } = await output();
    const requestId = graderRequestId();
    const reply = await call("POST", "/orders", {
      headers: { "x-request-id": requestId },
      body: { item: `${REFUSED_ITEM} ${uid("crate")}`, quantity: 1 },
    });
    expect(reply.status, `POST /orders { item, quantity: 1 } must answer 201 (${got(reply)})`).toBe(201);
    const orderId = (reply.json as { id?: unknown } | undefined)?.id;
    expect(typeof orderId, `POST /orders answers 201 { id }: the body has no id (${got(reply)})`).toBe(
      "string",
    );

    const failedFor = (lines: LogLine[]): LogLine[] =>
      withMsg(lines, "warehouse notification failed").filter((line) => line.order_id === orderId);
    const { lines, garbage } = await waitForLines(({ lines: soFar }) => failedFor(soFar).length > 0, before);
    expect(
      garbage,
      "the failure was printed as lines that are not JSON: a warning with an error in its fields is one JSON " +
        "line too, its stack a string field",
    ).toEqual([]);
    const warnings = failedFor(lines);
    expect(
      warnings.length,
      "50 ms after answering, the route's warehouse step failed (the grader made its UPDATE fail), and it logs " +
        `log.warn("warehouse notification failed", { order_id, err }): exactly one such line must be printed`,
    ).toBe(1);
    const warning = warnings[0]!;
    expect(
      warning.level,
      `log.warn(...) writes "level": "warn", one of debug, info, warn and error (not "warning"). Got ${show(warning)}`,
    ).toBe("warn");
    expect(
      warning.request_id === requestId,
      "the warehouse step ran after the response was sent, but the request started it: its line must carry " +
        `"request_id": "${requestId}" (AsyncLocalStorage.run() follows timers and promises). Got ${show(warning)}`,
    ).toBe(true);
    const err = warning.err as SerializedError | undefined;
    expect(
      {
        message: err?.message,
        code: err?.code,
        stack: typeof err?.stack === "string" && err.stack.length > 0,
      },
      "every Error in a line's fields, at any level, is serialized as { type, message, stack, ...its own " +
        `properties }: here the database's message, pg's code P0001 and the stack as a string. Got ${show(warning)}`,
    ).toEqual({ message: `the warehouse refused order ${String(orderId)}`, code: "P0001", stack: true });
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
      authenticating !== undefined,
      'GET /me logs log.debug("authenticating", { headers }): no such line was printed for this request. ' +
        "Every log.<level>() call writes its line, debug included",
    ).toBe(true);
    expect(
      (authenticating!.headers ?? {}) as Record<string, unknown>,
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
    const secret = (name: string): string => `${name}-${randomUUID()}`;
    // Each secret of its own, so a leak names the field that leaked.
    const secrets: [string, string, string][] = [
      ["password", password, 'a field whose name contains "password"'],
      [
        "Password_Confirmation",
        secret("confirm"),
        'names are matched ignoring case: "Password_Confirmation"',
      ],
      ["profile.api_token", secret("api"), 'a field whose name contains "token", one level down'],
      [
        "profile.API_SECRET",
        secret("apisecret"),
        'names are matched ignoring case: "API_SECRET" contains secret',
      ],
      ["profile.devices[0].secret", secret("device"), "fields inside array elements"],
      ["profile.Authorization", secret("auth"), 'a field named "Authorization", ignoring case, anywhere'],
      ["profile.Set-Cookie", secret("setcookie"), 'a field named "set-cookie", ignoring case'],
      ["profile.Cookie", secret("cookie"), 'a field named "cookie", ignoring case'],
    ];
    const value = (path: string): string => secrets.find(([name]) => name === path)![1];
    const requestId = graderRequestId();
    const reply = await call("POST", "/users", {
      headers: { "x-request-id": requestId },
      body: {
        email,
        password,
        Password_Confirmation: value("Password_Confirmation"),
        invited_by: null,
        profile: {
          name: "Grace",
          api_token: value("profile.api_token"),
          API_SECRET: value("profile.API_SECRET"),
          devices: [{ secret: value("profile.devices[0].secret"), model: "phone" }],
          Authorization: value("profile.Authorization"),
          "Set-Cookie": [value("profile.Set-Cookie")],
          Cookie: value("profile.Cookie"),
          // Not secrets: authorization, cookie and set-cookie are whole names; only password, secret and
          // token count anywhere in a name.
          authorization_level: "member",
          needs_authorization: false,
          cookie_consent: "essential",
          tracking_cookie: "declined",
        },
      },
    });
    expect(
      reply.status,
      `POST /users { email, password, profile } must answer 201 (${got(reply)}). A 500 here means log() threw ` +
        "on one of the body's values (null, an array, a nested object): logging must never throw into the route",
    ).toBe(201);

    const { lines } = await waitForRequests([requestId]);
    const text = await printed();
    const leaked = secrets.filter(([, secretValue]) => text.includes(secretValue));
    expect(
      leaked.map(([path, , why]) => `${path} (${why})`),
      "these secret fields of the body were printed: replace the value of every field whose name, ignoring case, " +
        'is authorization, cookie or set-cookie, or contains password, secret or token, with "[REDACTED]", at any depth',
    ).toEqual([]);
    const received = withMsg(linesOf(lines, requestId), "signup received")[0];
    expect(
      received !== undefined,
      'the route logs log.info("signup received", { user: body }): no such line was printed for this request',
    ).toBe(true);
    expect(
      received!.user,
      'the route logs log.info("signup received", { user: body }): redact the secrets and keep the rest as it ' +
        "is, null values and array elements included. Only a name that is authorization, cookie or set-cookie " +
        "(ignoring case), or that contains password, secret or token, is a secret: authorization_level or " +
        `cookie_consent are not. Got ${show(received)}`,
    ).toEqual({
      email,
      password: "[REDACTED]",
      Password_Confirmation: "[REDACTED]",
      invited_by: null,
      profile: {
        name: "Grace",
        api_token: "[REDACTED]",
        API_SECRET: "[REDACTED]",
        devices: [{ secret: "[REDACTED]", model: "phone" }],
        Authorization: "[REDACTED]",
        "Set-Cookie": "[REDACTED]",
        Cookie: "[REDACTED]",
        authorization_level: "member",
        needs_authorization: false,
        cookie_consent: "essential",
        tracking_cookie: "declined",
      },
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
    expect(
      text.includes(rows[0]!.password_hash),
      "the stored password hash was printed: it is a parameter of the INSERT, and a db query line holds the " +
        "statement as sql, never its parameters",
    ).toBe(false);
  });
});
