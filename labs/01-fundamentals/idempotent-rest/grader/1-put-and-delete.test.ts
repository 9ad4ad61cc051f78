import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  addressRows,
  failWrites,
  got,
  insertOrder,
  newClient,
  raceBehindLock,
  refundsOf,
  send,
  storedAddress,
  storedOrder,
} from "./helpers.ts";

const home = {
  name: "Ada Lovelace",
  street: "12 St James's Square",
  city: "London",
  postalCode: "SW1Y 4JH",
  country: "GB",
};
const office = {
  name: "Ada Lovelace",
  street: "1 Analytical Way",
  city: "Cambridge",
  postalCode: "CB2 1TN",
  country: "GB",
};
const asRow = (address: typeof home) => ({
  name: address.name,
  street: address.street,
  city: address.city,
  postal_code: address.postalCode,
  country: address.country,
});

task(1, "Make PUT and DELETE idempotent by design", () => {
  it("PUT of a shipping address twice leaves one row in the same state, and a new PUT replaces it", async () => {
    const client = await newClient("put");
    const order = await insertOrder(client);
    const path = `/orders/${order.id}/shipping-address`;

    const first = await send("PUT", path, { client, json: home });
    expect(first.status, `PUT ${path} must answer 200 (${got(first)})`).toBe(200);
    expect(first.json, "the 200 body must be the address as stored").toEqual(home);
    const again = await send("PUT", path, { client, json: home });
    expect(again.status, `repeating the same PUT must answer 200 again (${got(again)})`).toBe(200);
    expect(again.json, "the repeated PUT must answer the same address").toEqual(home);
    expect(
      await addressRows(order.id),
      "PUT twice must leave exactly one shipping_addresses row for the order, holding the address: a PUT " +
        "replaces the state, it never adds a second copy",
    ).toEqual([asRow(home)]);

    const moved = await send("PUT", path, { client, json: office });
    expect(moved.status, `a PUT with a different address must answer 200 (${got(moved)})`).toBe(200);
    expect(await addressRows(order.id), "the new address must replace the old one in the same row").toEqual([
      asRow(office),
    ]);

    const missing = await send("PUT", `/orders/${randomUUID()}/shipping-address`, { client, json: home });
    expect(missing.status, `a PUT for an order that does not exist must answer 404 (${got(missing)})`).toBe(
      404,
    );
  });

  it("the PUT response is the address as stored, also when the values have spaces around them", async () => {
    const client = await newClient("put-as-stored");
    const order = await insertOrder(client);
    const padded = { ...home, name: "  Ada Lovelace ", city: " London  " };
    const reply = await send("PUT", `/orders/${order.id}/shipping-address`, { client, json: padded });
    expect(reply.status, `PUT of an address must answer 200 (${got(reply)})`).toBe(200);
    const stored = await storedAddress(order.id);
    expect(stored, "the PUT must store the address in shipping_addresses").toBeDefined();
    expect(
      reply.json,
      "the 200 body must be the address as stored in shipping_addresses (the row the PUT wrote, read back with " +
        "RETURNING), so the client sees exactly what the server kept: here the response and the row disagree",
    ).toEqual(stored);
  });

  it("two first-time PUTs of an address at the same moment both succeed and leave one row", async () => {
    const client = await newClient("put-race");
    const order = await insertOrder(client);
    const path = `/orders/${order.id}/shipping-address`;

    // The grader's uncommitted row makes both requests reach their INSERT before either can finish it.
    const replies = await raceBehindLock(
      {
        sql: `INSERT INTO shipping_addresses (order_id, name, street, city, postal_code, country)
                VALUES ($1, 'held', 'held', 'held', 'held', 'held')`,
        params: [order.id],
      },
      2,
      () => [send("PUT", path, { client, json: home }), send("PUT", path, { client, json: home })],
    );

    expect(
      replies.map((reply) => reply.status),
      `a client retried its PUT while the first was still running (${replies.map(got).join("; ")}). ` +
        'Both must answer 200. "SELECT, then INSERT if there is no row" lets both decide to INSERT, and the ' +
        "second hits the primary key: make it one atomic statement (INSERT ... ON CONFLICT (order_id) DO UPDATE)",
    ).toEqual([200, 200]);
    expect(await addressRows(order.id), "the order must end with exactly one address row").toEqual([
      asRow(home),
    ]);
  });

  it("DELETE cancels the order and refunds it once; repeating the DELETE answers 204 and refunds nothing more", async () => {
    const client = await newClient("cancel");
    const order = await insertOrder(client, 4_500);
    const path = `/orders/${order.id}`;

    const first = await send("DELETE", path, { client });
    expect(first.status, `DELETE ${path} must answer 204 No Content (${got(first)})`).toBe(204);
    expect((await storedOrder(order.id))?.status, "after DELETE the order's status must be 'cancelled'").toBe(
      "cancelled",
    );
    expect(
      await refundsOf(order.id),
      "cancelling must refund the order: one refunds row of 4500 cents",
    ).toEqual([4_500]);

    const retry = await send("DELETE", path, { client });
    expect(
      retry.status,
      `the client did not see the first 204 and retried: a repeated DELETE must answer 204 again (${got(retry)})`,
    ).toBe(204);
    expect(
      await refundsOf(order.id),
      "a repeated DELETE must not refund again: only the request that moves the order from 'placed' to " +
        "'cancelled' may write the refund",
    ).toEqual([4_500]);

    const read = await send("GET", path, { client });
    expect(read.status, `GET on a cancelled order must still answer 200 (${got(read)})`).toBe(200);
    expect(read.json, "GET must answer the order with status 'cancelled'").toEqual({
      ...order,
      status: "cancelled",
    });

    const missing = await send("DELETE", `/orders/${randomUUID()}`, { client });
    expect(missing.status, `DELETE of an order that does not exist must answer 404 (${got(missing)})`).toBe(
      404,
    );
  });

  it("two DELETEs of one order at the same moment refund it once", async () => {
    const client = await newClient("cancel-race");
    const order = await insertOrder(client, 3_300);
    const path = `/orders/${order.id}`;

    // The grader holds the order's row, so both requests reach it before either has cancelled it.
    const replies = await raceBehindLock(
      { sql: "SELECT id FROM orders WHERE id = $1 FOR UPDATE", params: [order.id] },
      2,
      () => [send("DELETE", path, { client }), send("DELETE", path, { client })],
    );

    expect(
      replies.map((reply) => reply.status),
      `both DELETEs must answer 204 (${replies.map(got).join(" and ")})`,
    ).toEqual([204, 204]);
    const refunds = await refundsOf(order.id);
    expect(
      refunds.length,
      `two concurrent DELETEs wrote ${refunds.length} refunds (${refunds.join(", ")} cents)` +
        (refunds.length > 1
          ? ". Reading the status and then cancelling lets both see 'placed': make the status change itself the " +
            "decision (UPDATE ... WHERE status = 'placed', then refund only if it changed a row), in the same " +
            "transaction as the refund"
          : ": the order must be refunded exactly once"),
    ).toBe(1);
    expect(refunds, "the one refund must be for the order's full amount_cents, 3300").toEqual([3_300]);
    expect((await storedOrder(order.id))?.status, "the order must be cancelled").toBe("cancelled");
  });

  it("when the refund cannot be written, the order stays placed, and a retried DELETE then cancels and refunds it", async () => {
    const client = await newClient("cancel-atomic");
    const order = await insertOrder(client, 2_700);
    const path = `/orders/${order.id}`;

    const restore = await failWrites("refunds", `NEW.order_id = '${order.id}'`);
    const failed = await send("DELETE", path, { client }).finally(restore);
    expect(
      failed.status,
      `the grader made the INSERT into refunds fail, so this DELETE cannot succeed: it must not answer 204 ` +
        `(${got(failed)})`,
    ).not.toBe(204);
    expect(
      typeof (failed.json as { error?: unknown } | null | undefined)?.error,
      `a request that failed must still answer an error in the body { "error": "<message>" } (${got(failed)})`,
    ).toBe("string");
    expect(
      (await storedOrder(order.id))?.status,
      "the refund failed, yet the order was left cancelled: a retried DELETE will find it cancelled and never " +
        "refund it. Cancel the order and insert the refund in one transaction, on one client (inTransaction), so " +
        "that a failed refund rolls the cancellation back",
    ).toBe("placed");

    const retry = await send("DELETE", path, { client });
    expect(
      retry.status,
      `with the database working again, the retried DELETE must cancel the order: 204 (${got(retry)})`,
    ).toBe(204);
    expect(await refundsOf(order.id), "the retried DELETE must refund the order once, in full").toEqual([
      2_700,
    ]);
    expect((await storedOrder(order.id))?.status, "and the order must now be cancelled").toBe("cancelled");
  });
});
