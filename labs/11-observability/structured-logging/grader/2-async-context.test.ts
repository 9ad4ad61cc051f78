import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  call,
  createOrder,
  got,
  graderRequestId,
  type LogLine,
  linesOf,
  show,
  waitForLines,
  waitForRequests,
  withMsg,
} from "./helpers.ts";

const describeId = (line: LogLine): string =>
  line.request_id === undefined ? "no request_id" : `"request_id": ${JSON.stringify(line.request_id)}`;

/** Concurrent requests in the overlap test. More than the pool's 10 connections, so some wait for one. */
const CONCURRENT = 12;

task(3, "Carry the id through async work with AsyncLocalStorage", () => {
  it("queries and the work that runs after the response still log the request's id", async () => {
    const requestId = graderRequestId();
    const reply = await call("POST", "/orders", {
      headers: { "x-request-id": requestId },
      body: { item: "walnut desk", quantity: 2 },
    });
    expect(reply.status, `POST /orders { item, quantity: 2 } must answer 201 (${got(reply)})`).toBe(201);
    const orderId = (reply.json as { id?: unknown } | undefined)?.id;
    expect(typeof orderId, `POST /orders answers 201 { id }: the body has no id (${got(reply)})`).toBe(
      "string",
    );

    const { lines } = await waitForLines(({ lines: soFar }) =>
      withMsg(soFar, "warehouse notified").some((line) => line.order_id === orderId),
    );
    const notified = withMsg(lines, "warehouse notified").find((line) => line.order_id === orderId);
    expect(
      notified !== undefined,
      `POST /orders notifies the warehouse 50 ms after answering and logs "warehouse notified" { order_id: ` +
        `"${String(orderId)}" }: no such JSON line was printed`,
    ).toBe(true);
    expect(
      notified!.request_id === requestId,
      '"warehouse notified" is logged after the response was sent, by work the request started: it must still ' +
        `carry "request_id": "${requestId}", and it has ${describeId(notified!)}. AsyncLocalStorage.run() ` +
        "follows timers and promises started inside it; clearing a variable when the response ends does not",
    ).toBe(true);
    expect(
      linesOf(lines, requestId).map((line) => line.msg),
      "every line caused by the request carries its id: the INSERT's db query, order created, the access line, " +
        "then the UPDATE's db query and warehouse notified",
    ).toEqual(["db query", "order created", "request completed", "db query", "warehouse notified"]);
    expect(
      withMsg(linesOf(lines, requestId), "request completed")[0],
      '"request completed" describes this request: method POST (request.method, not a fixed "GET"), path ' +
        "/orders and the status sent, 201",
    ).toMatchObject({ method: "POST", path: "/orders", status: 201 });
    const [insert, update] = withMsg(linesOf(lines, requestId), "db query");
    expect(
      [insert!.rows, update!.rows],
      '"rows" of a db query line is result.rowCount: the INSERT and the UPDATE each touched 1 row (neither has ' +
        "RETURNING, so result.rows is empty: its length is not the row count)",
    ).toEqual([1, 1]);
    expect(
      [insert!, update!].filter((line) => JSON.stringify(line).includes(String(orderId))).map(show),
      "a db query line holds the statement as sql, never its parameters (they carry user data: emails, " +
        `password hashes...), yet the order id "${String(orderId)}" passed as $1 is in these lines`,
    ).toEqual([]);

    const { rows } = await postgres().query<{ notified: boolean }>(
      "SELECT notified_at IS NOT NULL AS notified FROM orders WHERE id = $1",
      [orderId],
    );
    expect(
      rows[0]?.notified,
      "the order must be stored and marked notified: the logging changes must not change what the routes do",
    ).toBe(true);
  });

  it(`${CONCURRENT} overlapping requests each log only their own id`, async () => {
    const orders = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => createOrder(`item ${i}`, i + 1)),
    );
    const requestIds = orders.map(() => graderRequestId());
    // The first request sent is the slowest, so every request starts before the earlier ones finish.
    const replies = await Promise.all(
      orders.map((orderId, i) =>
        call("GET", `/orders/${orderId}?delay_ms=${(CONCURRENT - i) * 25}`, {
          headers: { "x-request-id": requestIds[i]! },
        }),
      ),
    );
    replies.forEach((reply, i) => {
      expect(reply.status, `GET /orders/${orders[i]} must answer 200 (${got(reply)})`).toBe(200);
      expect(
        reply.headers.get("x-request-id"),
        "each concurrent request must get its own id back in X-Request-Id",
      ).toBe(requestIds[i]);
    });

    const { lines } = await waitForRequests(requestIds);
    orders.forEach((orderId, i) => {
      const requestId = requestIds[i]!;
      const loaded = withMsg(lines, "order loaded").filter((line) => line.order_id === orderId);
      expect(
        loaded.map((line) => line.request_id),
        `"order loaded" for ${orderId} was caused by the request with id ${requestId}, and must carry that id. ` +
          "Another request's id here means the id lives in one place shared by all requests (a module-level " +
          "variable): keep it in an AsyncLocalStorage store, set with run() per request",
      ).toEqual([requestId]);
      const mine = linesOf(lines, requestId);
      expect(
        mine.map((line) => line.msg),
        `request ${requestId} must log exactly its own db query, order loaded and request completed lines; got ` +
          show(mine.map((line) => line.msg)),
      ).toEqual(["db query", "order loaded", "request completed"]);
      expect(
        withMsg(mine, "request completed")[0]?.path,
        `the access line with request_id ${requestId} must describe that request (GET /orders/${orderId})`,
      ).toBe(`/orders/${orderId}`);
    });
  });
});
