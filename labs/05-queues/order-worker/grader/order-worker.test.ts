import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Admin, type Consumer, type Producer } from "kafkajs";
import { LearnerTimeoutError, kafka, learner, postgres, startLearner, task } from "@backend-labs/graders";

interface Worker {
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
}

interface TestOrder {
  orderId: string;
  customerId: string;
  amountCents: number;
  /** The grader places each customer on a known partition; a customer's orders always share it. */
  partition: number;
}

interface DeadLetter {
  key: string;
  value: string;
  headers: Record<string, string>;
}

const ordersTopic = "orders";
const deadLetterTopic = "orders.dlq";
const groupId = "order-worker";
const partitions = [0, 1, 2, 3];
const run = randomUUID().slice(0, 8);

const worker = learner().module<Worker>();
let admin: Admin;
let producer: Producer;
let dlqConsumer: Consumer | undefined;
const deadLetters: DeadLetter[] = [];

beforeAll(async () => {
  admin = kafka().admin();
  producer = kafka().producer({ allowAutoTopicCreation: false });
  await Promise.all([admin.connect(), producer.connect()]);
});

afterAll(async () => {
  await Promise.allSettled([dlqConsumer?.disconnect(), producer.disconnect(), admin.disconnect()]);
});

// ---------------------------------------------------------------------------------------------------
// Arranging orders

function customerId(label: string, index: number): string {
  return `cust-${label}-${run}-${index}`;
}

/** `count` orders for one customer, on one partition, with distinct amounts. */
function ordersFor(customer: string, partition: number, count: number, firstAmount = 1_000): TestOrder[] {
  return Array.from({ length: count }, (_, n) => ({
    orderId: `${customer}-order-${n + 1}`,
    customerId: customer,
    amountCents: firstAmount + 137 * n,
    partition,
  }));
}

/** One customer per partition, `perCustomer` orders each. */
function spreadOrders(label: string, perCustomer: number): TestOrder[] {
  return partitions.flatMap((partition) =>
    ordersFor(customerId(label, partition), partition, perCustomer, 500 + 250 * partition),
  );
}

function payload(order: TestOrder): string {
  return JSON.stringify({
    orderId: order.orderId,
    customerId: order.customerId,
    amountCents: order.amountCents,
  });
}

/** Publishes in one request: the orders of one partition land in it in array order. */
async function publish(orders: TestOrder[]): Promise<void> {
  await producer.send({
    topic: ordersTopic,
    messages: orders.map((order) => ({
      partition: order.partition,
      key: order.customerId,
      value: payload(order),
    })),
  });
}

/** Publishes one raw message and returns its offset. */
async function publishRaw(partition: number, key: string, value: string): Promise<string> {
  const [metadata] = await producer.send({ topic: ordersTopic, messages: [{ partition, key, value }] });
  return metadata?.baseOffset ?? "-1";
}

// ---------------------------------------------------------------------------------------------------
// Reading the effect store and the group's offsets

async function appliedIds(orderIds: string[]): Promise<string[]> {
  const { rows } = await postgres().query<{ order_id: string }>(
    "select order_id from processed_orders where order_id = any($1) order by applied_seq",
    [orderIds],
  );
  return rows.map((row) => row.order_id);
}

async function missingIds(orders: TestOrder[]): Promise<string[]> {
  const applied = new Set(await appliedIds(orders.map((order) => order.orderId)));
  return orders.map((order) => order.orderId).filter((id) => !applied.has(id));
}

/** "customer: N orders, T cents" for every customer of `orders`, as the table says and as it should be. */
async function totalsReport(orders: TestOrder[]): Promise<{ actual: string[]; expected: string[] }> {
  const expected = new Map<string, { count: number; total: number }>();
  for (const order of orders) {
    const entry = expected.get(order.customerId) ?? { count: 0, total: 0 };
    expected.set(order.customerId, { count: entry.count + 1, total: entry.total + order.amountCents });
  }
  const customers = [...expected.keys()].sort();
  const { rows } = await postgres().query<{ customer_id: string; order_count: number; total_cents: string }>(
    "select customer_id, order_count, total_cents from customer_totals where customer_id = any($1)",
    [customers],
  );
  const actualBy = new Map(rows.map((row) => [row.customer_id, row]));
  const line = (customer: string, count: number, total: number) =>
    `${customer}: ${count} orders, ${total} cents`;
  return {
    actual: customers.map((customer) => {
      const row = actualBy.get(customer);
      return row ? line(customer, row.order_count, Number(row.total_cents)) : `${customer}: no row`;
    }),
    expected: customers.map((customer) =>
      line(customer, expected.get(customer)!.count, expected.get(customer)!.total),
    ),
  };
}

/** Partitions where the group's committed offset is not the end of the partition, described. */
async function offsetGaps(): Promise<string[]> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [ordersTopic] });
  const ends = await admin.fetchTopicOffsets(ordersTopic);
  return ends
    .map((end) => {
      const offset = committed?.partitions.find((entry) => entry.partition === end.partition)?.offset ?? "-1";
      const caughtUp = offset === end.high || (offset === "-1" && end.high === "0");
      const shown = offset === "-1" ? "nothing committed" : `committed ${offset}`;
      return caughtUp ? undefined : `partition ${end.partition}: ${shown}, end offset ${end.high}`;
    })
    .filter((gap): gap is string => gap !== undefined);
}

/** Polls until `check` holds or the deadline passes; returns whether it held. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

async function waitUntilApplied(orders: TestOrder[], timeoutMs: number): Promise<string[]> {
  let missing: string[] = [];
  await waitFor(async () => {
    missing = await missingIds(orders);
    return missing.length === 0;
  }, timeoutMs);
  return missing;
}

async function waitUntilCaughtUp(timeoutMs: number): Promise<string[]> {
  let gaps: string[] = [];
  await waitFor(async () => {
    gaps = await offsetGaps();
    return gaps.length === 0;
  }, timeoutMs);
  return gaps;
}

// ---------------------------------------------------------------------------------------------------
// Holding an order "in flight": the grader inserts the order's row in a transaction it keeps open, so
// the worker's own insert of that order waits on the row lock until the grader rolls back.

interface Hold {
  release(): Promise<void>;
}

async function holdOrder(order: TestOrder): Promise<Hold> {
  const client = await postgres().connect();
  await client.query("begin");
  await client.query(
    "insert into processed_orders (order_id, customer_id, amount_cents) values ($1, $2, $3)",
    [order.orderId, order.customerId, order.amountCents],
  );
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      try {
        await client.query("rollback");
      } finally {
        client.release();
      }
    },
  };
}

/** How many other sessions (the worker's) are waiting on a lock held by the grader. */
async function blockedSessions(): Promise<number> {
  const { rows } = await postgres().query<{ waiting: number }>(
    `select count(*)::int as waiting from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
  );
  return rows[0]?.waiting ?? 0;
}

/** Sessions of the lab database opened by the learner's role (the grader connects as another role). */
async function workerSessions(): Promise<number> {
  const { rows } = await postgres().query<{ open: number }>(
    `select count(*)::int as open from pg_stat_activity
      where datname = current_database() and backend_type = 'client backend' and usename <> current_user`,
  );
  return rows[0]?.open ?? 0;
}

async function groupMembers(): Promise<number> {
  const { groups } = await admin.describeGroups([groupId]);
  return groups[0]?.members.length ?? 0;
}

async function workerIsBlocked(): Promise<boolean> {
  return (await blockedSessions()) > 0;
}

// ---------------------------------------------------------------------------------------------------
// The dead-letter topic, read by the grader's own consumer group (never the learner's)

async function deadLettersFor(key: string, expected: number, timeoutMs: number): Promise<DeadLetter[]> {
  if (!dlqConsumer) {
    const consumer = kafka().consumer({ groupId: `grader-dlq-${run}`, maxWaitTimeInMs: 250 });
    dlqConsumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: deadLetterTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined)
            headers[name] = Array.isArray(value) ? value.map(String).join(",") : value.toString();
        }
        deadLetters.push({
          key: message.key?.toString() ?? "",
          value: message.value?.toString() ?? "",
          headers,
        });
        return Promise.resolve();
      },
    });
  }
  const matching = () => deadLetters.filter((letter) => letter.key === key);
  await waitFor(() => Promise.resolve(matching().length >= expected), timeoutMs);
  return matching();
}

// ---------------------------------------------------------------------------------------------------

task(1, "Apply each order's effect exactly once", () => {
  it("orders published before the worker starts are all applied, with the right customer totals", async () => {
    await worker.stopWorker();
    const orders = spreadOrders("backlog", 3);
    await publish(orders);
    await worker.startWorker();

    const missing = await waitUntilApplied(orders, 15_000);
    expect(
      missing,
      "orders already waiting in `orders` when startWorker() ran were never recorded in processed_orders. A consumer " +
        "group with no committed offsets starts at the latest offset unless it subscribes fromBeginning: true; also " +
        "check that you consume topic `orders` in group `order-worker`",
    ).toEqual([]);
    const totals = await totalsReport(orders);
    expect(
      totals.actual,
      "customer_totals must hold, per customer, the number of orders and the sum of amountCents of the orders applied",
    ).toEqual(totals.expected);
  });

  it("the same order delivered twice (a producer retry) moves the customer's total once", async () => {
    await worker.startWorker();
    const [first, second] = ordersFor(customerId("duplicate", 0), 2, 2, 4_200) as [TestOrder, TestOrder];
    // Brokers and producers deliver at least once: the same order can sit in the log twice.
    await publish([first, first, second]);

    const missing = await waitUntilApplied([first, second], 15_000);
    expect(
      missing,
      "the worker stopped applying orders after a duplicate delivery of the same order id",
    ).toEqual([]);
    const totals = await totalsReport([first, second]);
    expect(
      totals.actual,
      `order ${first.orderId} was published twice and must count once. Add to customer_totals only when the order ` +
        "is new, i.e. only when your insert into processed_orders actually inserted a row, in the same transaction",
    ).toEqual(totals.expected);
  });

  it("recording an order and moving its customer's total commit together, in one transaction", async () => {
    await worker.startWorker();
    const [order] = ordersFor(customerId("atomic", 0), 0, 1, 3_100) as [TestOrder];
    // The grader creates the customer's totals row in a transaction it keeps open: the worker's write to
    // customer_totals waits for it, and meanwhile the grader looks at what the worker has already committed.
    const client = await postgres().connect();
    let recordedEarly: string[];
    try {
      await client.query("begin");
      await client.query(
        "insert into customer_totals (customer_id, order_count, total_cents) values ($1, 0, 0)",
        [order.customerId],
      );
      await publish([order]);
      const blocked = await waitFor(workerIsBlocked, 10_000);
      expect(
        blocked,
        `the worker never tried to add order ${order.orderId} to customer_totals within 10 s (the grader was holding ` +
          "that customer's row): is the worker consuming `orders`?",
      ).toBe(true);
      recordedEarly = await appliedIds([order.orderId]);
    } finally {
      await client.query("rollback").catch(() => undefined);
      client.release();
    }
    expect(
      recordedEarly,
      `order ${order.orderId} was already committed in processed_orders while its customer's total had not moved yet. ` +
        "Record the order and add it to customer_totals in ONE transaction (BEGIN ... COMMIT on one client): if the " +
        "process dies between two separate commits, the redelivered order is found in processed_orders and skipped, " +
        "and its amount never reaches the total",
    ).toEqual([]);
    expect(
      await waitUntilApplied([order], 15_000),
      "once the grader let go of the customer's row, the order must be applied",
    ).toEqual([]);
    const totals = await totalsReport([order]);
    expect(totals.actual, "the customer's total must count the order once").toEqual(totals.expected);
  });

  it("startWorker() twice runs one consumer; stopWorker() leaves the group and closes every connection", async () => {
    await worker.startWorker();
    await worker.startWorker();
    let members = 0;
    await waitFor(async () => (members = Math.max(members, await groupMembers())) > 1, 3_000);
    expect(
      members,
      `after startWorker() was called twice, group \`${groupId}\` had ${members} members. Calling startWorker() while the ` +
        "worker already runs must do nothing: keep the running consumer (or the promise of it) and return early",
    ).toBe(1);
    const [order] = ordersFor(customerId("lifecycle", 1), 1, 1, 3_300) as [TestOrder];
    await publish([order]);
    expect(
      await waitUntilApplied([order], 15_000),
      "orders published while the worker runs must be applied",
    ).toEqual([]);

    await worker.stopWorker();
    await worker.stopWorker(); // stopping a stopped worker does nothing
    let open = 0;
    await waitFor(async () => (open = await workerSessions()) === 0, 5_000);
    expect(
      open,
      `after stopWorker() the worker still had ${open} Postgres connection(s) open. stopWorker() must close every ` +
        "connection: disconnect the consumer and the producer, and end the pg Pool (pool.end())",
    ).toBe(0);
    const empty = await waitFor(
      async () => (await admin.describeGroups([groupId])).groups[0]?.state === "Empty",
      10_000,
    );
    expect(
      empty,
      "after stopWorker() the group must have no members: disconnect the consumer so it leaves the group",
    ).toBe(true);
  });
});

task(2, "Commit offsets manually, only after the effect is durable", () => {
  it("after processing, the group's committed offsets reach the end of every partition", async () => {
    await worker.startWorker();
    const orders = spreadOrders("offsets", 2);
    await publish(orders);

    const missing = await waitUntilApplied(orders, 15_000);
    expect(missing, "orders published while the worker runs must be applied within a few seconds").toEqual(
      [],
    );
    const gaps = await waitUntilCaughtUp(10_000);
    expect(
      gaps,
      "group `order-worker` must commit, for each partition, the offset AFTER the last message it finished " +
        "(message.offset + 1) with consumer.commitOffsets(). Without commits every restart replays the whole topic " +
        "and consumer lag never drops",
    ).toEqual([]);
  });

  it("when the group's committed offsets are gone, the replay from the earliest offset applies nothing twice", async () => {
    await worker.startWorker();
    const orders = spreadOrders("replay", 2);
    await publish(orders);
    expect(
      await waitUntilApplied(orders, 15_000),
      "orders published while the worker runs must be applied",
    ).toEqual([]);
    expect(await waitUntilCaughtUp(10_000), "committed offsets must reach the end after processing").toEqual(
      [],
    );

    // What happens when an idle group outlives offsets.retention.minutes, or an operator resets it to the
    // earliest offset: every order still in the topic is delivered again.
    await worker.stopWorker();
    const empty = await waitFor(
      async () => (await admin.describeGroups([groupId])).groups[0]?.state === "Empty",
      10_000,
    );
    expect(
      empty,
      "after stopWorker() the group must have no members: disconnect the consumer so it leaves the group",
    ).toBe(true);
    await admin.deleteGroups([groupId]);
    await worker.startWorker();

    const gaps = await waitUntilCaughtUp(15_000);
    expect(
      gaps,
      "after the group's offsets were deleted, the worker must re-read `orders` from the earliest offset and commit up to the end",
    ).toEqual([]);
    const totals = await totalsReport(orders);
    expect(
      totals.actual,
      "the group re-read orders it had already applied (as it does after a crash between the effect and the commit, " +
        "or when its offsets expire or are reset) and customer totals changed: a redelivered order must be a no-op",
    ).toEqual(totals.expected);
  });

  it("a worker killed mid-stream (SIGKILL) and started again loses no order and applies none twice", async () => {
    await worker.stopWorker(); // the grader's own copies take over the group for this test
    const firstWave = spreadOrders("crash", 5);
    const victim = firstWave[2]!; // partition 0, after two orders of the same customer
    const hold = await holdOrder(victim);
    let restarted: Worker | undefined;
    try {
      await publish(firstWave);
      const doomed = await startLearner();
      await doomed.module<Worker>().startWorker();
      const blocked = await waitFor(workerIsBlocked, 10_000);
      expect(
        blocked,
        `the worker never tried to apply order ${victim.orderId} within 10 s of startWorker() (the grader was holding ` +
          "its row): is the worker consuming `orders`?",
      ).toBe(true);

      // The machine dies while the order is in flight: no shutdown hook, no final commit.
      await doomed.kill();
      await hold.release();
      const secondWave = spreadOrders("crash-after", 1);
      await publish(secondWave);

      const survivor = await startLearner();
      restarted = survivor.module<Worker>();
      try {
        await restarted.startWorker();
      } catch (error) {
        if (!(error instanceof LearnerTimeoutError)) throw error;
        throw new Error(
          "startWorker() of the restarted worker did not resolve in time. Most likely the killed member still owned its " +
            "partitions: the group waits for its session to expire before it admits the new one, and kafkajs's " +
            "default sessionTimeout is 30 s. Set the consumer's sessionTimeout to 6-10 s (and heartbeatInterval well below it)",
          { cause: error },
        );
      }

      const orders = [...firstWave, ...secondWave];
      let missing: string[] = [];
      let caughtUpAt: number | undefined;
      await waitFor(async () => {
        missing = await missingIds(orders);
        if (missing.length === 0) return true;
        if ((await offsetGaps()).length > 0) return false;
        caughtUpAt ??= Date.now();
        return Date.now() - caughtUpAt > 1_000; // offsets at the end yet orders missing: they were skipped
      }, 25_000);
      expect(
        missing,
        `the restarted worker never applied these orders, so they are lost. ${victim.orderId} was in flight when the ` +
          "first worker was killed: if an offset is committed (or auto-committed) before the order's effect is " +
          "committed in Postgres, the next worker resumes after it. Commit message.offset + 1 only after the effect",
      ).toEqual([]);
      const totals = await totalsReport(orders);
      expect(
        totals.actual,
        "after the crash and restart some customer total is off: every order must move its customer's total exactly once",
      ).toEqual(totals.expected);
      const gaps = await waitUntilCaughtUp(10_000);
      expect(
        gaps,
        "after the restart the new worker must commit offsets up to the end of every partition",
      ).toEqual([]);
    } finally {
      await hold.release();
      await restarted?.stopWorker().catch(() => undefined);
    }
  });
});

task(3, "Keep each customer's orders in order while partitions run in parallel", () => {
  // One scenario, two observations. Each partition carries one customer with three orders, and the grader
  // holds every customer's FIRST order in flight. A worker that handles partitions in parallel, and each
  // partition's messages in sequence, ends up with one order waiting per partition and nothing else applied.
  const customers = partitions.map((partition) =>
    ordersFor(customerId("ordering", partition), partition, 3, 2_000 + 100 * partition),
  );
  const firsts = customers.map((orders) => orders[0]!);
  const followers = customers.flatMap((orders) => orders.slice(1));
  // Behind each held customer, on the same partition, one order of another customer.
  const neighbours = partitions.flatMap((partition) =>
    ordersFor(customerId("ordering-next", partition), partition, 1, 2_500 + 100 * partition),
  );
  const observed = {
    inFlight: 0,
    appliedBehindFirst: [] as string[],
    neighboursBehindFirst: [] as string[],
    missing: [] as string[],
    applied: [] as string[][],
    failure: undefined as Error | undefined,
  };

  beforeAll(async () => {
    // A failing hook would hide both tests; keep the error and let each test report it.
    await observeStuckOrders().catch((error: unknown) => {
      observed.failure = error instanceof Error ? error : new Error(String(error));
    });
  });

  async function observeStuckOrders(): Promise<void> {
    await worker.stopWorker();
    const holds: Hold[] = [];
    try {
      for (const first of firsts) holds.push(await holdOrder(first));
      // Published while the worker is stopped, so its first fetch returns every partition at once.
      await publish([...customers.flat(), ...neighbours]);
      await worker.startWorker();
      const countInFlight = async () => {
        observed.inFlight = Math.max(observed.inFlight, await blockedSessions());
        return observed.inFlight;
      };
      // kafkajs heartbeats between messages only: keep the worker blocked well under its session timeout.
      if (await waitFor(async () => (await countInFlight()) > 0, 10_000)) {
        await waitFor(async () => (await countInFlight()) >= partitions.length, 3_000);
      }
      // Give a worker that runs one partition's messages concurrently the time to show it.
      const behind = [...followers, ...neighbours].map((order) => order.orderId);
      await waitFor(async () => (await appliedIds(behind)).length > 0, 1_000);
      observed.appliedBehindFirst = await appliedIds(followers.map((order) => order.orderId));
      observed.neighboursBehindFirst = await appliedIds(neighbours.map((order) => order.orderId));
    } finally {
      for (const hold of holds) await hold.release();
    }
    observed.missing = await waitUntilApplied([...customers.flat(), ...neighbours], 15_000);
    observed.applied = await Promise.all(
      customers.map((orders) => appliedIds(orders.map((order) => order.orderId))),
    );
  }

  it("a customer's later orders are not applied while an earlier one is still in flight", () => {
    if (observed.failure) throw observed.failure;
    expect(
      observed.inFlight,
      "the grader held the first order of each partition in flight, and the worker never tried to apply any of them " +
        "within 10 s: is the worker consuming `orders`?",
    ).toBeGreaterThan(0);
    expect(
      observed.appliedBehindFirst,
      "these orders were applied while an earlier order of the same customer was still in flight. Messages with the " +
        "same key share a partition precisely so they can be applied in order: handle one partition's messages one " +
        "after another (no Promise.all over a batch)",
    ).toEqual([]);
    expect(
      observed.missing,
      "once the grader let go, every held order and its followers must be applied",
    ).toEqual([]);
    expect(
      observed.applied,
      "each customer's orders must be applied in the order they were published (processed_orders.applied_seq)",
    ).toEqual(customers.map((orders) => orders.map((order) => order.orderId)));
  });

  it("a partition's messages are applied strictly in offset order, even across customers", () => {
    if (observed.failure) throw observed.failure;
    expect(
      observed.inFlight,
      "the grader held the first order of each partition in flight, and the worker never tried to apply any of them " +
        "within 10 s: is the worker consuming `orders`?",
    ).toBeGreaterThan(0);
    expect(
      observed.neighboursBehindFirst,
      "these orders of other customers were applied while an earlier message of the same partition was still in " +
        "flight. Apply one partition's messages strictly one after another, in offset order: do not split a batch " +
        "by key and run customers side by side (the offset you commit would then skip work still in progress)",
    ).toEqual([]);
  });

  it("one slow order does not stall the other partitions", () => {
    if (observed.failure) throw observed.failure;
    expect(
      observed.inFlight,
      `only ${observed.inFlight} of the ${partitions.length} partitions had an order in flight at the same time while ` +
        "each partition's first order was slow. By default kafkajs handles one partition at a time, so one slow " +
        "order stalls every customer: process partitions concurrently (consumer.run's partitionsConsumedConcurrently), " +
        "with enough database connections for all of them",
    ).toBe(partitions.length);
  });
});

task(4, "Dead-letter messages that can never be applied", () => {
  it("a message that is not JSON goes to orders.dlq and the orders behind it are still applied", async () => {
    await worker.startWorker();
    const customer = customerId("poison", 1);
    const poison = `{"orderId": "${customer}-order-0", "customerId": "${customer}", "amountCe`;
    const poisonOffset = await publishRaw(1, customer, poison);
    const [next] = ordersFor(customer, 1, 1) as [TestOrder];
    await publish([next]);

    const missing = await waitUntilApplied([next], 15_000);
    expect(
      missing,
      `a truncated JSON message sat at offset ${poisonOffset} of partition 1 and the valid order behind it was never ` +
        "applied: a message that fails on every attempt blocks its partition forever. Parse and validate before " +
        "applying, and send what can never succeed to `orders.dlq`",
    ).toEqual([]);

    const letters = await deadLettersFor(customer, 1, 10_000);
    expect(
      [...new Set(letters.map((letter) => letter.value))],
      "orders.dlq must receive the malformed message with its original key and value (bytes unchanged)",
    ).toEqual([poison]);
    const headers = letters[0]!.headers;
    expect(
      headers["dlq-reason"] ?? "",
      "the dead letter must carry a non-empty `dlq-reason` header",
    ).not.toBe("");
    expect(
      { partition: headers["dlq-source-partition"], offset: headers["dlq-source-offset"] },
      "the dead letter must say where it came from: headers `dlq-source-partition` and `dlq-source-offset`",
    ).toEqual({ partition: "1", offset: poisonOffset });
    expect(
      await waitUntilCaughtUp(10_000),
      "the poison message's offset must be committed too, once it is in orders.dlq",
    ).toEqual([]);
  });

  it("orders that fail validation are dead-lettered and never touch the totals", async () => {
    await worker.startWorker();
    const customer = customerId("invalid", 2);
    const invalid = [
      { customerId: customer, amountCents: 700 },
      { orderId: `${customer}-negative`, customerId: customer, amountCents: -700 },
      { orderId: `${customer}-text`, customerId: customer, amountCents: "700" },
      { orderId: `${customer}-zero`, customerId: customer, amountCents: 0 },
      { orderId: `${customer}-fraction`, customerId: customer, amountCents: 12.5 },
      { orderId: "", customerId: customer, amountCents: 700 },
      { orderId: `${customer}-no-customer`, customerId: "", amountCents: 700 },
      { orderId: `${customer}-numeric-customer`, customerId: 42, amountCents: 700 },
    ]
      .map((body) => JSON.stringify(body))
      // Valid JSON that is not an object at all.
      .concat(["null"]);
    // The last message of the partition is invalid too: its offset must be committed all the same.
    const trailing = JSON.stringify({ orderId: `${customer}-last`, customerId: customer, amountCents: null });
    const offsets = new Map<string, string>();
    for (const value of invalid) offsets.set(value, await publishRaw(2, customer, value));
    // A message without a value at all (a tombstone) is not JSON either; the grader reads its value as "".
    const [tombstone] = await producer.send({
      topic: ordersTopic,
      messages: [{ partition: 2, key: customer, value: null }],
    });
    offsets.set("", tombstone?.baseOffset ?? "-1");
    const [valid] = ordersFor(customer, 2, 1, 900) as [TestOrder];
    await publish([valid]);
    offsets.set(trailing, await publishRaw(2, customer, trailing));

    const missing = await waitUntilApplied([valid], 15_000);
    expect(
      missing,
      `the valid order published after ${offsets.size - 1} invalid ones was never applied: invalid orders must be ` +
        "dead-lettered, not retried. Validate before touching Postgres: amountCents 12.5 is a number but not an " +
        "integer, and Postgres rejects it on every attempt; a value that is JSON null, or no value at all, has no " +
        "fields to read",
    ).toEqual([]);
    const invalidIds = [
      `${customer}-negative`,
      `${customer}-text`,
      `${customer}-zero`,
      `${customer}-fraction`,
      `${customer}-no-customer`,
      `${customer}-numeric-customer`,
      `${customer}-last`,
    ];
    const { rows } = await postgres().query<{ order_id: string }>(
      `select order_id from processed_orders
        where (customer_id = $1 or order_id = '' or customer_id = '' or order_id = any($3)) and order_id <> $2`,
      [customer, valid.orderId, invalidIds],
    );
    expect(
      rows.map((row) => JSON.stringify(row.order_id)).sort(),
      'these invalid orders were applied: orderId and customerId must be non-empty strings (not "", not the ' +
        'number 42) and amountCents a positive integer (not 0, not -700, not 12.5, not the string "700")',
    ).toEqual([]);
    const totals = await totalsReport([valid]);
    expect(totals.actual, "only the valid order may count in the customer's total").toEqual(totals.expected);
    const letters = await deadLettersFor(customer, offsets.size, 10_000);
    expect(
      [...new Set(letters.map((letter) => letter.value))].sort(),
      "each invalid message (missing or empty orderId, empty or numeric customerId, amountCents negative, zero, " +
        "fractional, a string or null, a JSON null value, no value at all) must land in orders.dlq with its value " +
        "unchanged (a message without a value is shown here as an empty string)",
    ).toEqual([...offsets.keys()].sort());
    const unexplained = letters
      .filter((letter) => (letter.headers["dlq-reason"] ?? "") === "")
      .map((letter) => `offset ${offsets.get(letter.value) ?? "?"}: ${JSON.stringify(letter.value)}`);
    expect(
      unexplained,
      "every dead letter must carry a non-empty `dlq-reason` header saying why it was rejected; these had none",
    ).toEqual([]);
    const misplaced = letters
      .map((letter) => ({
        value: letter.value,
        expected: `partition 2, offset ${offsets.get(letter.value) ?? "?"}`,
        got: `partition ${letter.headers["dlq-source-partition"]}, offset ${letter.headers["dlq-source-offset"]}`,
      }))
      .filter((entry) => entry.got !== entry.expected);
    expect(
      misplaced,
      "every dead letter must say where it came from: header `dlq-source-partition` is the partition it was read " +
        "from and `dlq-source-offset` its own offset there (message.offset, not the offset you commit)",
    ).toEqual([]);
    expect(
      await waitUntilCaughtUp(10_000),
      "a dead-lettered message's offset must be committed too, also when it is the last message of its partition: " +
        "commit message.offset + 1 once the dead letter is published",
    ).toEqual([]);
  });

  it("a Postgres error is retried, not dead-lettered: the order is applied once the database recovers", async () => {
    await worker.startWorker();
    const customer = customerId("outage", 3);
    const [order] = ordersFor(customer, 3, 1, 4_400) as [TestOrder];
    // A trigger makes Postgres reject this one order until the grader drops it, and counts the attempts in a
    // sequence (nextval survives the rollback of the failed transaction).
    const fn = `grader_outage_${run}`;
    const attemptsSeq = `grader_outage_attempts_${run}`;
    await postgres().query(`create sequence ${attemptsSeq}`);
    await postgres().query(
      `create function ${fn}() returns trigger language plpgsql security definer as $$
       begin
         if new.order_id = '${order.orderId}' then
           perform nextval('${attemptsSeq}');
           raise exception 'the database is unavailable (simulated by the grader)';
         end if;
         return new;
       end $$`,
    );
    await postgres().query(
      `create trigger ${fn} before insert on processed_orders for each row execute function ${fn}()`,
    );
    const attempts = async () => {
      const { rows } = await postgres().query<{ n: string }>(
        `select case when is_called then last_value else 0 end as n from ${attemptsSeq}`,
      );
      return Number(rows[0]?.n ?? 0);
    };
    try {
      await publish([order]);
      expect(
        await waitFor(async () => (await attempts()) >= 1, 10_000),
        `the worker never tried to insert order ${order.orderId} into processed_orders within 10 s`,
      ).toBe(true);
      expect(
        await waitFor(async () => (await attempts()) >= 2, 10_000),
        `inserting order ${order.orderId} failed in Postgres once and the worker never tried again. An error from ` +
          "Postgres (an outage, a failover) is not poison: let it throw, so kafkajs retries the message; do not " +
          "dead-letter it and do not commit its offset",
      ).toBe(true);
    } finally {
      await postgres().query(`drop trigger if exists ${fn} on processed_orders`);
      await postgres().query(`drop function if exists ${fn}()`);
      await postgres().query(`drop sequence if exists ${attemptsSeq}`);
    }
    expect(
      await waitUntilApplied([order], 20_000),
      `once Postgres accepted it again, order ${order.orderId} must be applied: a retried message is applied when the database recovers`,
    ).toEqual([]);
    const totals = await totalsReport([order]);
    expect(totals.actual, "the recovered order must count once in its customer's total").toEqual(
      totals.expected,
    );
    const letters = await deadLettersFor(customer, 1, 2_000);
    expect(
      letters.map((letter) => letter.value),
      `order ${order.orderId} is valid and only failed because of Postgres: it must not be in orders.dlq`,
    ).toEqual([]);
    expect(
      await waitUntilCaughtUp(10_000),
      "after the recovered order is applied its offset must be committed",
    ).toEqual([]);
  });
});
