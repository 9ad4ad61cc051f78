import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Admin, type Consumer, ConfigResourceTypes } from "kafkajs";
import { kafka, learner, lockWaiters, postgres, startLearner, task } from "@backend-labs/graders";

interface NewOrder {
  orderId: string;
  customerId: string;
  amountCents: number;
}

interface Outbox {
  placeOrder(order: NewOrder): Promise<void>;
  cancelOrder(orderId: string): Promise<void>;
  startRelay(): Promise<void>;
  stopRelay(): Promise<void>;
}

/** A message on the topic, as the grader's own consumer group read it. */
interface Published {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  /** The `orderId` of the JSON value, if it has one: how the grader finds an order's events, key or not. */
  orderId: string | undefined;
  eventId: string;
  eventType: string;
}

interface OutboxRow {
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  event_type: string;
  payload: unknown;
  published: boolean;
  xmin: string;
}

const TOPIC = "order-events";
const run = randomUUID().slice(0, 8);
const app = learner().module<Outbox>();

let admin: Admin;
let consumer: Consumer;
const published: Published[] = [];

beforeAll(async () => {
  admin = kafka().admin();
  consumer = kafka().consumer({ groupId: `grader-${run}`, maxWaitTimeInMs: 100 });
  await Promise.all([admin.connect(), consumer.connect()]);
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      const header = (name: string) => message.headers?.[name]?.toString() ?? "";
      published.push({
        partition,
        offset: Number(message.offset),
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? "",
        orderId: orderIdOf(message.value?.toString() ?? ""),
        eventId: header("event-id"),
        eventType: header("event-type"),
      });
      return Promise.resolve();
    },
  });
});

afterAll(async () => {
  await Promise.allSettled([consumer.disconnect(), admin.disconnect()]);
});

// ---------------------------------------------------------------------------------------------------
// Arranging customers and orders: every test has its own

async function createCustomer(label: string): Promise<string> {
  const id = `cust-${label}-${run}`;
  await postgres().query("insert into customers (id, name) values ($1, $2)", [id, `Customer ${label}`]);
  return id;
}

const orderIdFor = (label: string, n: number): string => `ord-${label}-${run}-${n}`;

// ---------------------------------------------------------------------------------------------------
// Reading the tables and the topic

async function orderRow(orderId: string) {
  const { rows } = await postgres().query<{
    id: string;
    customer_id: string;
    amount_cents: string;
    status: string;
    xmin: string;
  }>("select id, customer_id, amount_cents::text, status, xmin::text from orders where id = $1", [orderId]);
  return rows[0];
}

async function outboxRows(orderIds: string[]): Promise<OutboxRow[]> {
  const { rows } = await postgres().query<OutboxRow>(
    `select id::text, aggregate_type, aggregate_id, event_type, payload, published_at is not null as published,
            xmin::text
       from outbox where aggregate_id = any($1) order by id`,
    [orderIds],
  );
  return rows;
}

function orderIdOf(value: string): string | undefined {
  const parsed = parseJson(value);
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { orderId } = parsed as { orderId?: unknown };
  return typeof orderId === "string" ? orderId : undefined;
}

/** Messages about these orders, in the order the topic holds them (partition, then offset). */
function messagesFor(orderIds: string[]): Published[] {
  const wanted = new Set(orderIds);
  return published
    .filter((message) => message.orderId !== undefined && wanted.has(message.orderId))
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return `not JSON: ${text}`;
  }
}

const describeMessage = (message: Published): string =>
  `${message.key ?? "(no key)"} ${message.eventType || "(no event-type)"} event-id ${message.eventId || "(none)"} ` +
  `on partition ${message.partition}`;

/** Outbox ids of these rows that no message carries as its `event-id`. */
function unpublishedIds(rows: OutboxRow[]): string[] {
  const seen = new Set(published.map((message) => message.eventId));
  return rows.map((row) => row.id).filter((id) => !seen.has(id));
}

/**
 * Problems with the order of each order's events on the topic: all on one partition, and the first copy
 * of each event (duplicates are allowed: at least once) in outbox id order.
 */
function orderingProblems(rows: OutboxRow[]): string[] {
  const problems: string[] = [];
  for (const orderId of new Set(rows.map((row) => row.aggregate_id))) {
    const messages = messagesFor([orderId]);
    const partitions = new Set(messages.map((message) => message.partition));
    if (partitions.size > 1) {
      problems.push(`${orderId}: events spread over partitions ${[...partitions].join(", ")}`);
      continue;
    }
    const ofOrder = new Set(rows.filter((row) => row.aggregate_id === orderId).map((row) => row.id));
    const firstSeen = [...new Set(messages.map((message) => message.eventId))].filter((id) =>
      ofOrder.has(id),
    );
    const inOutboxOrder = [...firstSeen].sort((a, b) => Number(BigInt(a) - BigInt(b)));
    if (firstSeen.join() !== inOutboxOrder.join()) {
      problems.push(
        `${orderId}: event-ids published as ${firstSeen.join(", ")}, outbox order is ${inOutboxOrder.join(", ")}`,
      );
    }
  }
  return problems;
}

/** Polls until `check` holds or the deadline passes; returns whether it held. */
async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** Waits until every row has a message and is marked published. */
async function waitUntilPublished(orderIds: string[], timeoutMs: number): Promise<boolean> {
  return waitFor(async () => {
    const rows = await outboxRows(orderIds);
    return unpublishedIds(rows).length === 0 && rows.every((row) => row.published);
  }, timeoutMs);
}

/** Replaces the topic's config overrides with these (none: the broker's defaults). */
async function setTopicConfig(configEntries: { name: string; value: string }[]): Promise<void> {
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries }],
  });
}

/** The broker refuses every write to the topic: no record batch fits in one byte. */
async function refuseWrites(refuse: boolean): Promise<void> {
  await setTopicConfig(refuse ? [{ name: "max.message.bytes", value: "1" }] : []);
}

/** How many other sessions are waiting on a lock (held by the grader). */
async function blockedSessions(): Promise<number> {
  const { rows } = await postgres().query<{ waiting: number }>(
    `select count(*)::int as waiting from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
  );
  return rows[0]?.waiting ?? 0;
}

// ---------------------------------------------------------------------------------------------------

task(1, "Write the order and its event in one transaction", () => {
  it("placeOrder stores the order and an OrderPlaced outbox row in the same transaction", async () => {
    await app.stopRelay();
    const customerId = await createCustomer("place");
    const order = { orderId: orderIdFor("place", 1), customerId, amountCents: 1_299 };
    await app.placeOrder(order);

    const stored = await orderRow(order.orderId);
    expect(
      stored && { customer: stored.customer_id, amount: Number(stored.amount_cents), status: stored.status },
      "placeOrder must insert the order into `orders` (status 'placed')",
    ).toEqual({ customer: customerId, amount: 1_299, status: "placed" });
    const rows = await outboxRows([order.orderId]);
    expect(
      rows.map(({ aggregate_type, aggregate_id, event_type, payload }) => ({
        aggregate_type,
        aggregate_id,
        event_type,
        payload,
      })),
      "placeOrder must insert exactly one outbox row: aggregate_type 'order', aggregate_id the order id, " +
        "event_type 'OrderPlaced' and payload { orderId, customerId, amountCents }",
    ).toEqual([
      { aggregate_type: "order", aggregate_id: order.orderId, event_type: "OrderPlaced", payload: order },
    ]);
    expect(
      rows[0]?.published,
      "published_at must stay null until the relay has published the row (the relay is stopped here)",
    ).toBe(false);
    expect(
      rows[0]?.xmin,
      "the order row and its outbox row were written by different transactions (their xmin differ): insert " +
        "both on ONE client between BEGIN and COMMIT, so that either both exist or neither does",
    ).toBe(stored?.xmin);
  });

  it("cancelOrder records OrderCancelled with the status change; a second cancel fails and writes nothing", async () => {
    await app.stopRelay();
    const customerId = await createCustomer("cancel");
    const order = { orderId: orderIdFor("cancel", 1), customerId, amountCents: 800 };
    await app.placeOrder(order);
    await app.cancelOrder(order.orderId);

    const stored = await orderRow(order.orderId);
    expect(stored?.status, "cancelOrder must set the order's status to 'cancelled'").toBe("cancelled");
    const rows = await outboxRows([order.orderId]);
    expect(
      rows.map((row) => ({ event_type: row.event_type, payload: row.payload })),
      "after placeOrder and cancelOrder the outbox must hold OrderPlaced, then OrderCancelled with payload { orderId }",
    ).toEqual([
      { event_type: "OrderPlaced", payload: order },
      { event_type: "OrderCancelled", payload: { orderId: order.orderId } },
    ]);
    expect(
      rows[1]?.xmin,
      "the status update and the OrderCancelled row must be written by the same transaction",
    ).toBe(stored?.xmin);

    await expect(
      app.cancelOrder(order.orderId),
      "cancelling an order that is already cancelled must fail (only a 'placed' order can be cancelled)",
    ).rejects.toThrow();
    const unknown = orderIdFor("cancel", 404);
    await expect(
      app.cancelOrder(unknown),
      "cancelling an order that does not exist must fail",
    ).rejects.toThrow();
    expect(
      (await outboxRows([order.orderId, unknown])).map((row) => `${row.aggregate_id} ${row.event_type}`),
      "a cancel that failed must not leave an outbox row behind: roll the whole transaction back",
    ).toEqual([`${order.orderId} OrderPlaced`, `${order.orderId} OrderCancelled`]);
  });

  it("an order whose transaction fails leaves no order, no outbox row and no event on the topic", async () => {
    await app.startRelay();
    const customerId = await createCustomer("rollback");
    const existing = { orderId: orderIdFor("rollback", 1), customerId, amountCents: 500 };
    await app.placeOrder(existing);
    const unknownCustomer = {
      orderId: orderIdFor("rollback", 2),
      customerId: `nobody-${run}`,
      amountCents: 700,
    };
    const negative = { orderId: orderIdFor("rollback", 3), customerId, amountCents: -5 };

    await expect(
      app.placeOrder(unknownCustomer),
      "placeOrder for a customer that does not exist must reject: the foreign key is checked at COMMIT, so the " +
        "COMMIT itself fails",
    ).rejects.toThrow();
    await expect(
      app.placeOrder({ ...existing, amountCents: 999 }),
      `placeOrder with an order id that exists (${existing.orderId}) must reject`,
    ).rejects.toThrow();
    await expect(
      app.placeOrder(negative),
      "placeOrder with a negative amountCents must reject",
    ).rejects.toThrow();

    // The relay publishes in outbox order: once an order placed after these is on the topic, anything the
    // failed ones had put in the outbox would be there too.
    const marker = { orderId: orderIdFor("rollback", 4), customerId, amountCents: 100 };
    await app.placeOrder(marker);
    const relayed = await waitFor(() => messagesFor([marker.orderId]).length > 0, 5_000);
    expect(relayed, `the relay (running) never published ${marker.orderId}'s OrderPlaced to ${TOPIC}`).toBe(
      true,
    );

    const failed = [unknownCustomer.orderId, negative.orderId];
    expect(
      messagesFor(failed).map(describeMessage),
      `${unknownCustomer.orderId} was rolled back (its COMMIT failed) yet an event about it reached Kafka: a message ` +
        "sent before COMMIT announces an order that never existed. Only the relay publishes, and only committed rows",
    ).toEqual([]);
    expect(
      (await outboxRows(failed)).map((row) => `${row.aggregate_id} ${row.event_type}`),
      "a failed placeOrder must leave no outbox row",
    ).toEqual([]);
    expect(
      (await Promise.all(failed.map(orderRow))).filter(Boolean),
      "a failed placeOrder must leave no order row",
    ).toEqual([]);
    expect(
      [...new Set(messagesFor([existing.orderId]).map((message) => message.value))].map(parseJson),
      `placing ${existing.orderId} a second time failed, so the topic may only hold its first OrderPlaced (500 cents)`,
    ).toEqual([existing]);
  });

  it("placeOrder and cancelOrder reject malformed input and write nothing", async () => {
    const customerId = await createCustomer("input");
    const numericId = Number.parseInt(run, 16);
    // Customers whose ids a malformed customerId turns into once Postgres reads it as text: for these the
    // foreign key lets the order through, so only placeOrder's own check can reject them.
    await postgres().query(
      "insert into customers (id, name) values ($1, 'Customer with a numeric id'), ('', 'Customer with an empty id') " +
        "on conflict (id) do nothing",
      [String(numericId)],
    );
    const good = { orderId: orderIdFor("input", 1), customerId, amountCents: 100 };
    const bad: { why: string; order: Record<string, unknown>; orderId: string }[] = [
      { why: 'an empty orderId ""', order: { ...good, orderId: "" }, orderId: "" },
      { why: "a number as orderId", order: { ...good, orderId: numericId }, orderId: String(numericId) },
      {
        why: 'an empty customerId "" (a customer with the id "" exists: the foreign key does not stop it)',
        order: { ...good, orderId: orderIdFor("input", 2), customerId: "" },
        orderId: orderIdFor("input", 2),
      },
      {
        why: `a number as customerId (${numericId}; a customer "${numericId}" exists: the foreign key does not stop it)`,
        order: { ...good, orderId: orderIdFor("input", 3), customerId: numericId },
        orderId: orderIdFor("input", 3),
      },
      ...([0, 12.5, Number.NaN, Number.POSITIVE_INFINITY, "100", " 7", "0x10", undefined] as unknown[]).map(
        (amountCents, n) => ({
          why: `amountCents ${typeof amountCents === "string" ? JSON.stringify(amountCents) : String(amountCents)}`,
          order: { ...good, orderId: orderIdFor("input", 10 + n), amountCents },
          orderId: orderIdFor("input", 10 + n),
        }),
      ),
    ];
    const accepted: string[] = [];
    for (const { why, order } of bad) {
      const outcome = await app.placeOrder(order as unknown as NewOrder).then(
        () => "resolved",
        () => "rejected",
      );
      if (outcome === "resolved") accepted.push(why);
    }
    expect(
      accepted,
      "placeOrder must reject an orderId or customerId that is not a non-empty string and an amountCents that " +
        "is not a positive integer (a number, not a string Postgres would happily convert): validate before you " +
        "write; the foreign key and the table's checks let some of these through",
    ).toEqual([]);

    const ids = bad.map((entry) => entry.orderId);
    const { rows: orders } = await postgres().query<{ id: string }>(
      "select id from orders where id = any($1)",
      [ids],
    );
    expect(
      {
        orders: orders.map((row) => row.id),
        outbox: (await outboxRows(ids)).map((row) => `${row.aggregate_id} ${row.event_type}`),
      },
      "a rejected placeOrder must leave no order and no outbox row behind",
    ).toEqual({ orders: [], outbox: [] });

    await app.placeOrder(good);
    const cancelAccepted: string[] = [];
    for (const [why, orderId] of [
      ['an empty orderId ""', ""],
      ["a number as orderId", numericId],
    ] as const) {
      const outcome = await app.cancelOrder(orderId as unknown as string).then(
        () => "resolved",
        () => "rejected",
      );
      if (outcome === "resolved") cancelAccepted.push(why);
    }
    expect(cancelAccepted, "cancelOrder must reject an orderId that is not a non-empty string").toEqual([]);
    expect(
      (await orderRow(good.orderId))?.status,
      "a rejected cancelOrder must leave the placed order alone",
    ).toBe("placed");
  });
});

task(2, "Relay the outbox to Kafka in order", () => {
  it("the relay publishes every row to order-events, keyed by order id, in order, and marks it published", async () => {
    await app.stopRelay();
    const customerId = await createCustomer("relay");
    const orders = [1, 2, 3, 4].map((n) => ({
      orderId: orderIdFor("relay", n),
      customerId,
      amountCents: 100 * n,
    }));
    for (const order of orders) await app.placeOrder(order);
    await app.cancelOrder(orders[1]!.orderId);
    await app.cancelOrder(orders[3]!.orderId);
    const ids = orders.map((order) => order.orderId);
    const rows = await outboxRows(ids);

    await app.startRelay();
    await waitUntilPublished(ids, 5_000);

    expect(
      unpublishedIds(rows),
      `these outbox rows never reached ${TOPIC} (matched on the \`event-id\` header, the outbox row id) within 5 s ` +
        "of startRelay(): the relay must publish rows whose published_at is null",
    ).toEqual([]);
    const firstCopies = new Map(messagesFor(ids).map((message) => [message.eventId, message]));
    expect(
      rows.map((row) => {
        const message = firstCopies.get(row.id);
        return {
          key: message?.key,
          eventType: message?.eventType,
          value: message && parseJson(message.value),
        };
      }),
      "each message must have the order id as its key, the header `event-type` (OrderPlaced, OrderCancelled) " +
        "and the row's payload as its JSON value",
    ).toEqual(rows.map((row) => ({ key: row.aggregate_id, eventType: row.event_type, value: row.payload })));
    expect(
      orderingProblems(rows),
      "an order's events must reach consumers in the order they happened: publish rows in id order, keyed by " +
        "order id (a key always maps to the same partition, and Kafka orders messages within a partition only)",
    ).toEqual([]);
    expect(
      (await outboxRows(ids)).filter((row) => !row.published).map((row) => row.id),
      "once the broker has acknowledged a row, the relay must set its published_at",
    ).toEqual([]);
  });

  it("a row whose transaction commits after later rows were published is still published", async () => {
    await app.startRelay();
    const customerId = await createCustomer("late");
    const late = { orderId: orderIdFor("late", 1), customerId, amountCents: 4_200 };
    const early = { orderId: orderIdFor("late", 2), customerId, amountCents: 1_000 };

    // A slow request: its outbox row takes its id now, but only becomes visible when it commits.
    const slow = await postgres().connect();
    let lateId: string | undefined;
    try {
      await slow.query("begin");
      await slow.query("insert into orders (id, customer_id, amount_cents) values ($1, $2, $3)", [
        late.orderId,
        customerId,
        late.amountCents,
      ]);
      const { rows } = await slow.query<{ id: string }>(
        `insert into outbox (aggregate_type, aggregate_id, event_type, payload)
         values ('order', $1, 'OrderPlaced', $2) returning id::text`,
        [late.orderId, JSON.stringify(late)],
      );
      lateId = rows[0]!.id;

      await app.placeOrder(early);
      const earlyOut = await waitFor(() => messagesFor([early.orderId]).length > 0, 5_000);
      expect(earlyOut, `the relay never published ${early.orderId}'s OrderPlaced`).toBe(true);
      await slow.query("commit");
    } finally {
      await slow.query("rollback").catch(() => undefined);
      slow.release();
    }

    await waitUntilPublished([late.orderId], 3_000);
    expect(
      unpublishedIds(await outboxRows([late.orderId])),
      `outbox row ${lateId} committed after a row with a higher id had been published (ids are taken at INSERT, ` +
        'rows become visible at COMMIT). A relay that remembers "the last id I published" and reads id > that ' +
        "skips it forever: read the rows whose published_at is null",
    ).toEqual([]);
  });

  it("after stopRelay nothing more is published, and a second startRelay starts no second relay", async () => {
    await app.stopRelay();
    await app.startRelay();
    await app.startRelay(); // the relay runs: this call must do nothing
    await app.stopRelay();
    await app.stopRelay(); // the relay is stopped: this call must do nothing
    const customerId = await createCustomer("stopped");
    const order = { orderId: orderIdFor("stopped", 1), customerId, amountCents: 1_500 };
    await app.placeOrder(order);
    await sleep(1_500);

    const rows = await outboxRows([order.orderId]);
    expect(
      { marked: rows[0]?.published, messages: messagesFor([order.orderId]).map(describeMessage) },
      "1.5 s after stopRelay() resolved, a relay still published a new row: stopRelay must stop the relay, and a " +
        "startRelay() while the relay already runs must not start a second one that stopRelay then never stops",
    ).toEqual({ marked: false, messages: [] });

    await app.startRelay();
    expect(
      await waitUntilPublished([order.orderId], 5_000),
      "startRelay() after stopRelay() must start the relay again: it never published the row placed while it " +
        "was stopped",
    ).toBe(true);
  });

  it("each round publishes at most 100 rows, oldest id first", async () => {
    await app.stopRelay();
    // 250 events at once, as after an outage: the relay must work through them 100 at a time, in id order.
    const ids = Array.from({ length: 250 }, (_, n) => orderIdFor("backlog", n + 1));
    await postgres().query(
      `insert into outbox (aggregate_type, aggregate_id, event_type, payload)
       select 'order', id, 'OrderCancelled', jsonb_build_object('orderId', id)
         from unnest($1::text[]) with ordinality as backlog (id, n) order by n`,
      [ids],
    );
    await app.startRelay();
    expect(
      await waitUntilPublished(ids, 15_000),
      "the relay did not publish and mark a backlog of 250 rows within 15 s",
    ).toBe(true);

    // Rows marked by one round share its published_at (now() of the marking transaction).
    const { rows: rounds } = await postgres().query<{ rows: number }>(
      `select count(*)::int as rows from outbox where aggregate_id = any($1)
        group by published_at order by min(id)`,
      [ids],
    );
    expect(
      rounds.map((round) => round.rows).filter((count) => count > 100),
      "the relay marked more than 100 rows with one published_at, so one round read them all: read at most 100 " +
        "rows per round (LIMIT 100) and let the next round take the rest",
    ).toEqual([]);
    const { rows: backwards } = await postgres().query<{ id: string }>(
      `select id::text from (
         select id, published_at < lag(published_at) over (order by id) as earlier
           from outbox where aggregate_id = any($1)) marked
        where earlier`,
      [ids],
    );
    expect(
      backwards.map((row) => row.id),
      "these rows were published in an earlier round than rows with smaller ids: each round must take the oldest " +
        "unpublished rows (ORDER BY id)",
    ).toEqual([]);
  });

  it("with nothing to publish, the relay looks at the outbox again within 250 ms", async () => {
    await app.startRelay();
    // Each measurement: take the table for ourselves, then time how long the relay takes to queue behind
    // us, i.e. to start its next round. The first one starts at an arbitrary point of the relay's pause.
    const gaps: number[] = [];
    const holder = await postgres().connect();
    try {
      for (let n = 0; n < 4; n++) {
        await holder.query("begin");
        await holder.query("set local lock_timeout = '5s'");
        await holder.query("lock table outbox in access exclusive mode");
        const lockedAt = Date.now();
        const queued = await waitFor(async () => (await lockWaiters()) > 0, 5_000, 10);
        gaps.push(queued ? Date.now() - lockedAt : Number.POSITIVE_INFINITY);
        await holder.query("rollback");
      }
    } finally {
      await holder.query("rollback").catch(() => undefined);
      holder.release();
    }
    const [, median] = gaps.slice(1).sort((a, b) => a - b);
    expect(
      median,
      `with an empty outbox the relay paused ${gaps.slice(1).join(", ")} ms between rounds: wait at most 250 ms ` +
        "(POLL_INTERVAL_MS) before looking again, or new events sit in the outbox for that long",
    ).toBeLessThan(1_000);
  });
});

task(3, "Never lose an event", () => {
  it("while the broker refuses writes, orders still succeed and their rows stay unpublished until it accepts them", async () => {
    await app.startRelay();
    const customerId = await createCustomer("outage");
    const order = { orderId: orderIdFor("outage", 1), customerId, amountCents: 2_500 };

    await refuseWrites(true);
    let markedEarly = false;
    try {
      await expect(
        app.placeOrder(order),
        "placeOrder failed while Kafka refused writes: a request that writes only to Postgres does not care. " +
          "Publishing from the request makes every order depend on the broker (and loses the event when the " +
          "send fails after COMMIT)",
      ).resolves.toBeUndefined();
      // The relay gets several rounds against a broker that refuses the batch.
      await waitFor(
        async () => (markedEarly = (await outboxRows([order.orderId]))[0]?.published === true),
        1_000,
      );
    } finally {
      await refuseWrites(false);
    }
    expect(
      markedEarly,
      "the broker refused every write, yet the outbox row was marked published: set published_at only after " +
        "producer.send() resolved, or a failed send loses the event for good",
    ).toBe(false);

    await waitUntilPublished([order.orderId], 5_000);
    expect(
      unpublishedIds(await outboxRows([order.orderId])),
      "once the broker accepts writes again, the relay must publish what it could not publish before: on a " +
        "failed send, leave the rows unpublished and try them again next round",
    ).toEqual([]);
    expect(
      (await outboxRows([order.orderId]))[0]?.published,
      "the row must be marked published once the broker acknowledged it",
    ).toBe(true);
  });

  it("a row committed while the relay is between sending a batch and marking it is published, not just marked", async () => {
    await app.stopRelay();
    const customerId = await createCustomer("inflight");
    const during = { orderId: orderIdFor("inflight", 1), customerId, amountCents: 610 };
    const sent = { orderId: orderIdFor("inflight", 2), customerId, amountCents: 620 };

    // A slow request: its outbox row takes its id now (smaller than the row of `sent`) but becomes visible
    // only when it commits, which the grader makes happen while the relay is between sending `sent` and
    // marking it. SHARE mode lets the relay read (and lock) outbox rows but holds back its UPDATE.
    const holder = await postgres().connect();
    let starting: Promise<void> | undefined;
    try {
      await holder.query("begin");
      await holder.query("insert into orders (id, customer_id, amount_cents) values ($1, $2, $3)", [
        during.orderId,
        customerId,
        during.amountCents,
      ]);
      await holder.query(
        `insert into outbox (aggregate_type, aggregate_id, event_type, payload)
         values ('order', $1, 'OrderPlaced', $2)`,
        [during.orderId, JSON.stringify(during)],
      );
      await app.placeOrder(sent);
      await holder.query("lock table outbox in share mode");
      starting = app.startRelay();
      await waitFor(async () => (await lockWaiters()) > 0, 5_000);
      await holder.query("commit");
    } finally {
      await holder.query("rollback").catch(() => undefined);
      holder.release();
    }
    await starting;

    const ids = [during.orderId, sent.orderId];
    await waitUntilPublished(ids, 5_000);
    const rows = await outboxRows(ids);
    expect(
      unpublishedIds(rows).map((id) => ({ id, marked: rows.find((row) => row.id === id)?.published })),
      `the row of ${during.orderId} committed while the relay was between sending an earlier batch and marking ` +
        "it, and it never reached the topic (marked: true means it was marked published without being sent): " +
        'mark exactly the rows you sent (WHERE id = ANY(sent ids)), not "every row still unpublished" or ' +
        '"every row up to the highest id I sent"',
    ).toEqual([]);
  });

  it("a relay killed between sending and marking, then restarted, loses no event and keeps each order's events in order", async () => {
    await app.stopRelay();
    const customerId = await createCustomer("killed");
    const orders = Array.from({ length: 8 }, (_, n) => ({
      orderId: orderIdFor("killed", n + 1),
      customerId,
      amountCents: 300 + n,
    }));
    for (const order of orders) await app.placeOrder(order);
    for (const order of orders) await app.cancelOrder(order.orderId);
    const ids = orders.map((order) => order.orderId);
    const rows = await outboxRows(ids);

    // The grader locks one OrderPlaced row, as a slow transaction would: the relay gets stuck on it.
    const locked = rows[5]!;
    const holder = await postgres().connect();
    let restarted = false;
    try {
      await holder.query("begin");
      await holder.query("select id from outbox where id = $1 for update", [locked.id]);
      const doomed = await startLearner();
      await doomed.module<Outbox>().startRelay();
      await waitFor(async () => (await blockedSessions()) > 0, 3_000);
      await doomed.kill(); // the machine dies: no shutdown hook runs
      await holder.query("rollback");
      await app.startRelay();
      restarted = true;
    } finally {
      if (!restarted) await holder.query("rollback").catch(() => undefined);
      holder.release();
    }

    await waitUntilPublished(ids, 6_000);
    expect(
      unpublishedIds(rows),
      "these events never reached the topic although the relay was restarted: a row marked published before " +
        "the broker acknowledged it is lost when the relay dies in between. Send first, mark after",
    ).toEqual([]);
    expect(
      orderingProblems(rows),
      "after the restart each order's events must still appear in outbox order (OrderPlaced before " +
        "OrderCancelled); re-publishing a batch is fine, skipping a row you could not lock is not",
    ).toEqual([]);
    expect(
      (await outboxRows(ids)).filter((row) => !row.published).map((row) => row.id),
      "after the restarted relay caught up, every row must be marked published",
    ).toEqual([]);
  });
});
