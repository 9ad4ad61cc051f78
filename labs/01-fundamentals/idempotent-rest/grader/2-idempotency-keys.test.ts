import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  countWithDescription,
  got,
  keyRow,
  newClient,
  type Order,
  orderBody,
  ordersOf,
  send,
  uid,
} from "./helpers.ts";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

task(2, "Replay POST /orders retries from the Idempotency-Key", () => {
  it("POST /orders refuses a request without a valid X-API-Key (401) or without an Idempotency-Key (400)", async () => {
    const client = await newClient("required-headers");
    const body = orderBody("required-headers");

    const anonymous = await send("POST", "/orders", { idempotencyKey: uid("key"), json: body });
    expect(anonymous.status, `a request without X-API-Key must answer 401 (${got(anonymous)})`).toBe(401);
    const stranger = await send("POST", "/orders", {
      client: { id: "nobody", apiKey: "key_that_does_not_exist" },
      idempotencyKey: uid("key"),
      json: body,
    });
    expect(stranger.status, `an X-API-Key that is in no clients row must answer 401 (${got(stranger)})`).toBe(
      401,
    );
    const keyless = await send("POST", "/orders", { client, json: body });
    expect(
      keyless.status,
      `a POST /orders without an Idempotency-Key must answer 400: without a key, a retry after a timeout ` +
        `would create a second order (${got(keyless)})`,
    ).toBe(400);
    expect(await countWithDescription(body.description), "none of these requests may create an order").toBe(
      0,
    );
  });

  it("a retry with the same key and body replays the stored 201 and creates no second order", async () => {
    const client = await newClient("replay");
    const key = uid("key");
    const body = orderBody("replay", 2_500);

    const first = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
    expect(first.status, `POST /orders with a new key must answer 201 Created (${got(first)})`).toBe(201);
    const order = first.json as Order;
    expect(
      order,
      "the 201 body must be the new order { id, amountCents, currency, description, status }",
    ).toEqual({
      id: expect.stringMatching(uuidPattern) as string,
      ...body,
      status: "placed",
    });
    expect(first.headers.get("location"), "201 Created must carry Location: /orders/<id>").toBe(
      `/orders/${order.id}`,
    );
    expect(
      first.headers.get("idempotent-replayed"),
      "the first response did the work: it must not say Idempotent-Replayed: true",
    ).not.toBe("true");
    expect(
      await ordersOf(client),
      "the POST must insert one orders row for this client, with the amount, currency and description sent",
    ).toEqual([{ ...order, clientId: client.id }]);
    const stored = await keyRow(client, key);
    expect(
      { status: stored?.response_status, body: stored?.response_body },
      "the response must be stored in idempotency_keys under (client_id, idempotency_key): response_status 201 " +
        "and response_body the JSON that was sent",
    ).toEqual({ status: 201, body: order });

    for (const attempt of ["second", "third"]) {
      const retry = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
      expect(
        { status: retry.status, body: retry.json },
        `the ${attempt} POST with the same Idempotency-Key and body must replay the first response: the same ` +
          `status and the same body, with the same order id (${got(retry)})`,
      ).toEqual({ status: 201, body: order });
      expect(
        retry.headers.get("idempotent-replayed"),
        "a replayed response must say so with the header Idempotent-Replayed: true",
      ).toBe("true");
    }
    expect((await ordersOf(client)).length, "retries must not create more orders: one key, one order").toBe(
      1,
    );

    const read = await send("GET", `/orders/${order.id}`, { client });
    expect(read.status, `GET /orders/{id} must answer 200 for the client's own order (${got(read)})`).toBe(
      200,
    );
    expect(read.json, "GET must answer the order as created").toEqual(order);
  });

  it("a request refused with 400 stores nothing, so the corrected request can use the same key", async () => {
    const client = await newClient("invalid-first");
    const key = uid("key");
    const body = orderBody("invalid-first");

    const invalid = await send("POST", "/orders", {
      client,
      idempotencyKey: key,
      json: { ...body, amountCents: -5 },
    });
    expect(invalid.status, `a negative amountCents must answer 400 (${got(invalid)})`).toBe(400);
    expect(
      await keyRow(client, key),
      "a request that failed validation did no work: it must not leave a row in idempotency_keys, or its key " +
        "could never be used again",
    ).toBeUndefined();

    const corrected = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
    expect(
      corrected.status,
      `the corrected request with the same key must create the order: 201, not a replay of the 400 and not 422 ` +
        `(${got(corrected)})`,
    ).toBe(201);
    expect((await ordersOf(client)).length, "the corrected request must create exactly one order").toBe(1);
  });
});

task(3, "Refuse a reused key with a different request", () => {
  it("the same key with a different body answers 422 and creates nothing; the original is still replayed", async () => {
    const client = await newClient("mismatch");
    const key = uid("key");
    const body = orderBody("mismatch", 1_000);

    const first = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
    expect(first.status, `POST /orders with a new key must answer 201 (${got(first)})`).toBe(201);

    const changed = await send("POST", "/orders", {
      client,
      idempotencyKey: key,
      json: { ...body, amountCents: 100_000 },
    });
    expect(
      changed.status,
      "the key was first used to order 1000 cents and is now sent with 100000 cents: that is a different " +
        "request, most likely a client bug. Replaying the first response would tell the client its 100000-cent " +
        `order exists. Answer 422 Unprocessable Content; compare a fingerprint of the request body (${got(changed)})`,
    ).toBe(422);
    expect(
      typeof (changed.json as { error?: unknown } | undefined)?.error,
      "the 422 must explain itself in a JSON body { error: string }",
    ).toBe("string");
    expect(
      (await ordersOf(client)).map((order) => order.amountCents),
      "the 422 request must not create an order: the client has only the first one",
    ).toEqual([1_000]);

    const original = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
    expect(
      { status: original.status, body: original.json },
      "after the 422, the original request with that key must still replay its 201",
    ).toEqual({ status: 201, body: first.json });
  });
});
