import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  countWithDescription,
  failWrites,
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

  it("an Idempotency-Key of 1 to 255 characters is accepted; an empty one or one of 256 characters answers 400", async () => {
    const client = await newClient("key-length");
    const refused = orderBody("key-length-refused");
    for (const { what, key } of [
      { what: "an empty Idempotency-Key", key: "" },
      { what: "an Idempotency-Key of 256 characters", key: "k".repeat(256) },
    ]) {
      const reply = await send("POST", "/orders", { client, idempotencyKey: key, json: refused });
      expect(
        reply.status,
        `${what} must answer 400: the README allows keys of 1 to 255 characters, and a header that is present ` +
          `but empty or too long is not such a key (${got(reply)})`,
      ).toBe(400);
    }
    expect(
      await countWithDescription(refused.description),
      "a POST refused for its Idempotency-Key must not create an order",
    ).toBe(0);
    for (const key of ["", "k".repeat(256)])
      expect(
        await keyRow(client, key),
        "a POST refused for its Idempotency-Key must not store the key in idempotency_keys",
      ).toBeUndefined();

    for (const { what, key } of [
      { what: "a key of 1 character", key: "k" },
      { what: "a key of exactly 255 characters", key: "k".repeat(255) },
    ]) {
      const reply = await send("POST", "/orders", {
        client,
        idempotencyKey: key,
        json: orderBody("key-length"),
      });
      expect(
        reply.status,
        `${what} is within "1 to 255 characters": the POST must answer 201` +
          `${reply.status === 400 ? ". Refuse length > 255, not >= 255" : ""} (${got(reply)})`,
      ).toBe(201);
    }
    expect((await ordersOf(client)).length, "the two accepted keys must create one order each").toBe(2);
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
      "the first response did the work, and the README says it does not carry the Idempotent-Replayed header " +
        "at all (not even with the value false)",
    ).toBeNull();
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

    for (const { what, raw } of [
      { what: "a negative amountCents", raw: JSON.stringify({ ...body, amountCents: -5 }) },
      { what: "an amountCents of 0", raw: JSON.stringify({ ...body, amountCents: 0 }) },
      { what: "a fractional amountCents", raw: JSON.stringify({ ...body, amountCents: 19.99 }) },
      { what: "an amountCents sent as a string", raw: JSON.stringify({ ...body, amountCents: "1999" }) },
      {
        what: "a missing currency",
        raw: JSON.stringify({ amountCents: 1_999, description: body.description }),
      },
      { what: 'the currency "eur"', raw: JSON.stringify({ ...body, currency: "eur" }) },
      { what: 'the currency "EURO"', raw: JSON.stringify({ ...body, currency: "EURO" }) },
      { what: "a numeric description", raw: JSON.stringify({ ...body, description: 42 }) },
      { what: "JSON null", raw: "null" },
      { what: "a body that is not valid JSON", raw: '{"amountCents": 19' },
    ]) {
      const invalid = await send("POST", "/orders", { client, idempotencyKey: key, raw });
      expect(
        invalid.status,
        `POST /orders with ${what} must answer 400: an invalid body is the client's mistake. Validate the body ` +
          `with the starter's parseOrderInput before anything is written (${got(invalid)})`,
      ).toBe(400);
      expect(
        typeof (invalid.json as { error?: unknown } | null | undefined)?.error,
        `the 400 for ${what} must explain itself in the body { "error": "<message>" }`,
      ).toBe("string");
      expect(
        await keyRow(client, key),
        `the request with ${what} failed validation and did no work: it must not leave a row in ` +
          "idempotency_keys, or its key could never be used again",
      ).toBeUndefined();
    }
    expect(await ordersOf(client), "a request answered 400 must not create an order").toEqual([]);

    const corrected = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
    expect(
      corrected.status,
      `the corrected request with the same key must create the order: 201, not a replay of the 400 and not 422 ` +
        `(${got(corrected)})`,
    ).toBe(201);
    expect((await ordersOf(client)).length, "the corrected request must create exactly one order").toBe(1);
  });

  it("a retry after the order changed replays the stored response, not the order as it is now", async () => {
    const client = await newClient("replay-stored");
    const key = uid("key");
    const body = orderBody("replay-stored");
    const first = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
    expect(first.status, `POST /orders with a new key must answer 201 (${got(first)})`).toBe(201);
    const order = first.json as Order;
    const cancel = await send("DELETE", `/orders/${order.id}`, { client });
    expect(cancel.status, `DELETE of the new order must answer 204 (${got(cancel)})`).toBe(204);

    const retry = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
    expect(
      { status: retry.status, body: retry.json },
      "the client never saw the 201 and retries after the order was cancelled: the retry must replay the stored " +
        "response (status 'placed', as the first answer said), read from idempotency_keys.response_body, not the " +
        `order read again from the orders table (${got(retry)})`,
    ).toEqual({ status: 201, body: order });
    expect((await ordersOf(client)).length, "the retry must not create a second order").toBe(1);
  });

  it("when the key cannot be stored, the order is not created either: both commit in one transaction", async () => {
    const client = await newClient("one-transaction");
    const key = uid("key");
    const body = orderBody("one-transaction");

    // Storing the response fails, as a crash between the two writes would.
    const restore = await failWrites(
      "idempotency_keys",
      `NEW.client_id = '${client.id}' AND NEW.response_status IS NOT NULL`,
    );
    const failed = await send("POST", "/orders", { client, idempotencyKey: key, json: body }).finally(
      restore,
    );
    expect(
      failed.status,
      `the grader made storing the response in idempotency_keys fail, so this POST cannot succeed: it must not ` +
        `answer 201 (${got(failed)})`,
    ).not.toBe(201);
    expect(
      typeof (failed.json as { error?: unknown } | null | undefined)?.error,
      `a request that failed must still answer an error in the body { "error": "<message>" } (${got(failed)})`,
    ).toBe("string");
    expect(
      await ordersOf(client),
      "storing the key failed, yet the order was created: a retry will not find the key and creates a second " +
        "order. Insert the order and store the key with its response in one transaction, on the transaction's " +
        "client (inTransaction), so they commit or roll back together",
    ).toEqual([]);
  });
});

task(3, "Refuse a reused key with a different request", () => {
  it("the same key with a different body answers 422 and creates nothing; the original is still replayed", async () => {
    const client = await newClient("mismatch");
    const key = uid("key");
    const body = orderBody("mismatch", 1_000);

    const first = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
    expect(first.status, `POST /orders with a new key must answer 201 (${got(first)})`).toBe(201);

    for (const { field, changed: json } of [
      { field: "amountCents", changed: { ...body, amountCents: 100_000 } },
      { field: "currency", changed: { ...body, currency: "USD" } },
      { field: "description", changed: { ...body, description: `${body.description} (gift wrapped)` } },
    ]) {
      const changed = await send("POST", "/orders", { client, idempotencyKey: key, json });
      expect(
        changed.status,
        `the key was first used for ${JSON.stringify(body)} and is now sent with another ${field}: that is a ` +
          "different request, most likely a client bug. Replaying the first response would tell the client this " +
          "order exists. Answer 422 Unprocessable Content; the fingerprint must cover every field of the body " +
          `(amountCents, currency and description) (${got(changed)})`,
      ).toBe(422);
      expect(
        typeof (changed.json as { error?: unknown } | undefined)?.error,
        "the 422 must explain itself in a JSON body { error: string }",
      ).toBe("string");
    }
    expect(
      (await ordersOf(client)).map((order) => order.amountCents),
      "a request answered 422 must not create an order: the client has only the first one",
    ).toEqual([1_000]);

    const original = await send("POST", "/orders", { client, idempotencyKey: key, json: body });
    expect(
      { status: original.status, body: original.json },
      "after the 422, the original request with that key must still replay its 201",
    ).toEqual({ status: 201, body: first.json });
  });
});
