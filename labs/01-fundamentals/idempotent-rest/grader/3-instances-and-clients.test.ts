import { randomUUID } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import { learner, type LearnerInstance, startLearner, task } from "@backend-labs/graders";
import {
  addressRows,
  got,
  insertOrder,
  keyRow,
  newClient,
  type Order,
  orderBody,
  ordersOf,
  raceBehindLock,
  refundsOf,
  send,
  storedOrder,
  uid,
} from "./helpers.ts";

/** A second copy of the learner's server, as behind a load balancer: retries may land on either. */
let second: LearnerInstance;

beforeAll(async () => {
  second = await startLearner();
});

task(4, "Hold under concurrency, across instances", () => {
  it("a retry that lands on another instance replays the response stored in Postgres", async () => {
    const client = await newClient("cross-instance");
    const key = uid("key");
    const body = orderBody("cross-instance");

    const first = await send("POST", "/orders", {
      client,
      idempotencyKey: key,
      json: body,
      instance: learner(),
    });
    expect(first.status, `POST /orders on instance 1 must answer 201 (${got(first)})`).toBe(201);
    const retry = await send("POST", "/orders", {
      client,
      idempotencyKey: key,
      json: body,
      instance: second,
    });
    const orders = await ordersOf(client);
    expect(
      orders.length,
      `the retry reached instance 2, and the client now has ${orders.length} orders. A key remembered in process ` +
        `memory is unknown to every other instance and lost on restart: keep it in idempotency_keys (${got(retry)})`,
    ).toBe(1);
    expect(
      { status: retry.status, body: retry.json },
      `the retry reached instance 2, which must replay instance 1's response: the stored status (201) and body ` +
        `(${got(retry)})`,
    ).toEqual({ status: 201, body: first.json });
  });

  it("four concurrent POSTs with one key, split across two instances, create exactly one order", async () => {
    const client = await newClient("concurrent");
    const key = uid("key");
    const body = orderBody("concurrent");
    const instances = [learner(), second, learner(), second];

    // The grader's uncommitted row holds the key, so every request gets past whatever it does before it
    // claims the key; then the grader rolls back and they all go on at once.
    const replies = await raceBehindLock(
      {
        sql: `INSERT INTO idempotency_keys (client_id, idempotency_key, request_hash) VALUES ($1, $2, 'held by the grader')`,
        params: [client.id, key],
      },
      instances.length,
      () =>
        instances.map((instance) =>
          send("POST", "/orders", { client, idempotencyKey: key, json: body, instance }),
        ),
    );

    const orders = await ordersOf(client);
    const unexpected = replies.filter((reply) => reply.status !== 201 && reply.status !== 409);
    expect(
      unexpected.map(got),
      "4 concurrent POSTs with one Idempotency-Key: one creates the order (201), and each duplicate must either " +
        "wait for it and replay its 201, or answer 409 Conflict (still in progress, retry later)",
    ).toEqual([]);
    expect(
      orders.length,
      `4 concurrent requests with one Idempotency-Key created ${orders.length} orders (answers: ` +
        `${replies.map((reply) => reply.status).join(", ")})` +
        (orders.length > 1
          ? ". Checking for the key and then creating the order lets every request find nothing: claim the key " +
            "with an INSERT that the primary key on (client_id, idempotency_key) decides, in the same " +
            "transaction as the order"
          : ": exactly one of them must create the order"),
    ).toBe(1);
    const created = replies.filter((reply) => reply.status === 201);
    expect(created.length, "at least one of the requests must answer 201").toBeGreaterThan(0);
    const { clientId: _clientId, ...order } = orders[0]!;
    for (const reply of created) {
      expect(reply.json as Order, "every 201 must describe the one order that exists").toEqual(order);
    }
    expect(
      created.filter((reply) => reply.headers.get("idempotent-replayed") === null).length,
      "exactly one 201 did the work and goes without Idempotent-Replayed; every duplicate that waited and " +
        "replayed it is a replay and must say Idempotent-Replayed: true",
    ).toBe(1);
    expect((await keyRow(client, key))?.response_status, "the key's stored response must be the 201").toBe(
      201,
    );
  });
});

task(5, "Scope keys and orders to the client", () => {
  it("the same key from two clients creates two orders, and neither client can see or cancel the other's", async () => {
    const alice = await newClient("alice");
    const bob = await newClient("bob");
    const key = "order-2024-0001"; // Keys are chosen by clients, so two clients can pick the same one.
    const body = orderBody("shared-key");

    const fromAlice = await send("POST", "/orders", { client: alice, idempotencyKey: key, json: body });
    expect(fromAlice.status, `Alice's POST must answer 201 (${got(fromAlice)})`).toBe(201);
    const fromBob = await send("POST", "/orders", { client: bob, idempotencyKey: key, json: body });
    expect(
      fromBob.status,
      `Bob's POST with the same key and body must create his own order: 201 (${got(fromBob)})`,
    ).toBe(201);
    const aliceOrder = fromAlice.json as Order;
    const bobOrder = fromBob.json as Order;
    expect(
      bobOrder.id,
      "Bob received Alice's order: an idempotency key only means something together with the client that " +
        "sent it. Look keys up by (client_id, idempotency_key), never by the key alone",
    ).not.toBe(aliceOrder.id);
    expect(
      fromBob.headers.get("idempotent-replayed"),
      "Bob's first request with this key is not a replay",
    ).not.toBe("true");
    expect(
      (await ordersOf(alice)).map((order) => order.id),
      "Alice must own exactly her order",
    ).toEqual([aliceOrder.id]);
    expect(
      (await ordersOf(bob)).map((order) => order.id),
      "Bob must own exactly his order",
    ).toEqual([bobOrder.id]);

    const peek = await send("GET", `/orders/${aliceOrder.id}`, { client: bob });
    expect(
      peek.status,
      `Bob must not read Alice's order: answer 404, as if it did not exist (${got(peek)})`,
    ).toBe(404);
    const cancel = await send("DELETE", `/orders/${aliceOrder.id}`, { client: bob });
    expect(cancel.status, `Bob must not cancel Alice's order: 404 (${got(cancel)})`).toBe(404);
    expect((await storedOrder(aliceOrder.id))?.status, "Alice's order must still be placed").toBe("placed");
    expect(await refundsOf(aliceOrder.id), "and it must not have been refunded").toEqual([]);
  });

  it("a client cannot set the shipping address of another client's order (404)", async () => {
    const alice = await newClient("alice-address");
    const bob = await newClient("bob-address");
    const order = await insertOrder(alice);
    const address = {
      name: "Bob",
      street: "1 Other Road",
      city: "Leeds",
      postalCode: "LS1 1AA",
      country: "GB",
    };
    const reply = await send("PUT", `/orders/${order.id}/shipping-address`, { client: bob, json: address });
    expect(
      reply.status,
      "Bob sent a PUT for the shipping address of Alice's order: an order of another client answers 404 on every " +
        `route, PUT included. Find the order by id and client_id before you write its address (${got(reply)})`,
    ).toBe(404);
    expect(await addressRows(order.id), "Alice's order must have no address written by Bob").toEqual([]);
    const missing = await send("GET", `/orders/${randomUUID()}`, { client: alice });
    expect(missing.status, `GET of an order that does not exist must answer 404 (${got(missing)})`).toBe(404);
  });

  it("an order id that is not a UUID names no order: 404 on every route, not a database error", async () => {
    const client = await newClient("malformed-id");
    const order = await insertOrder(client);
    const address = { name: "Ada", street: "1 Road", city: "London", postalCode: "N1 1AA", country: "GB" };
    for (const id of ["not-a-uuid", `${order.id}x`, `x${order.id}`]) {
      for (const [method, path, json] of [
        ["GET", `/orders/${id}`, undefined],
        ["DELETE", `/orders/${id}`, undefined],
        ["PUT", `/orders/${id}/shipping-address`, address],
      ] as const) {
        const reply = await send(method, path, { client, ...(json && { json }) });
        expect(
          reply.status,
          `${method} ${path}: "${id}" is not a UUID, so no order has it: answer 404. Passing it to Postgres as a ` +
            `uuid fails with "invalid input syntax for type uuid" (a 500); check the whole id first, with a ` +
            `pattern anchored by ^ and $ (${got(reply)})`,
        ).toBe(404);
      }
    }
    expect((await storedOrder(order.id))?.status, "the real order must be untouched").toBe("placed");
    expect(await addressRows(order.id), "and have no address").toEqual([]);
  });
});
