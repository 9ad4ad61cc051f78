// Second solution, written from the README alone. Design: `eachBatch` with auto-resolve off, walking each
// partition's batch one message at a time and committing (then resolving) each offset by hand; the effect
// is ONE statement, a data-modifying CTE (INSERT ... ON CONFLICT DO NOTHING RETURNING feeding an upsert
// of customer_totals), which Postgres runs atomically as its own transaction.
import {
  Kafka,
  logLevel,
  type Consumer,
  type EachBatchPayload,
  type KafkaMessage,
  type Producer,
} from "kafkajs";
import pg from "pg";

export const ordersTopic = "orders";
export const deadLetterTopic = "orders.dlq";
export const groupId = "order-worker";

/** The JSON value of every message on `orders`; the message key is the customer id. */
export interface Order {
  orderId: string;
  customerId: string;
  amountCents: number;
}

interface Running {
  consumer: Consumer;
  producer: Producer;
  pool: pg.Pool;
}

let running: Running | undefined;
let starting: Promise<void> | undefined;
let stopping: Promise<void> | undefined;

const applySql = `
  with recorded as (
    insert into processed_orders (order_id, customer_id, amount_cents, applied_at)
    values ($1, $2, $3, now())
    on conflict (order_id) do nothing
    returning customer_id, amount_cents
  )
  insert into customer_totals (customer_id, order_count, total_cents)
  select customer_id, 1, amount_cents from recorded
  on conflict (customer_id) do update
    set order_count = customer_totals.order_count + 1,
        total_cents = customer_totals.total_cents + excluded.total_cents`;

/** Returns the order, or why the message can never be applied. */
function parseOrder(value: Buffer | null): { order: Order } | { reason: string } {
  if (value === null) return { reason: "message has no value" };
  let data: unknown;
  try {
    data = JSON.parse(value.toString("utf8"));
  } catch (error) {
    return { reason: `value is not JSON: ${(error as Error).message}` };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { reason: "value is not a JSON object" };
  }
  const { orderId, customerId, amountCents } = data as Record<string, unknown>;
  if (typeof orderId !== "string" || orderId.length === 0) {
    return { reason: "orderId must be a non-empty string" };
  }
  if (typeof customerId !== "string" || customerId.length === 0) {
    return { reason: "customerId must be a non-empty string" };
  }
  if (typeof amountCents !== "number" || !Number.isInteger(amountCents) || amountCents <= 0) {
    return { reason: "amountCents must be a positive integer" };
  }
  return { order: { orderId, customerId, amountCents } };
}

async function handle(w: Running, partition: number, message: KafkaMessage): Promise<void> {
  const parsed = parseOrder(message.value);
  if ("reason" in parsed) {
    await w.producer.send({
      topic: deadLetterTopic,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            "dlq-reason": parsed.reason,
            "dlq-source-partition": String(partition),
            "dlq-source-offset": message.offset,
          },
        },
      ],
    });
  } else {
    const { orderId, customerId, amountCents } = parsed.order;
    // Errors from Postgres propagate: kafkajs retries this offset, which stays uncommitted.
    await w.pool.query(applySql, [orderId, customerId, amountCents]);
  }
  const next = (BigInt(message.offset) + 1n).toString();
  await w.consumer.commitOffsets([{ topic: ordersTopic, partition, offset: next }]);
}

async function start(): Promise<void> {
  const brokers = (process.env.KAFKA_BROKERS ?? "")
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  const kafka = new Kafka({ clientId: "order-worker", brokers, logLevel: logLevel.WARN });
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 6 });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 8000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 500,
  });
  const w: Running = { consumer, producer, pool };
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: ordersTopic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          await handle(w, batch.partition, message);
          resolveOffset(message.offset);
          await heartbeat();
        }
      },
    });
  } catch (error) {
    await shutdown(w);
    throw error;
  }
  running = w;
}

async function shutdown(w: Running): Promise<void> {
  await w.consumer.disconnect().catch(() => undefined);
  await w.producer.disconnect().catch(() => undefined);
  await w.pool.end().catch(() => undefined);
}

/**
 * Joins consumer group `order-worker` on topic `orders` and starts applying orders; resolves once the
 * consumer is running. Calling it while the worker already runs does nothing.
 */
export async function startWorker(): Promise<void> {
  if (stopping) await stopping;
  if (running) return;
  if (!starting) {
    starting = start().finally(() => {
      starting = undefined;
    });
  }
  return starting;
}

/** Leaves the group cleanly and closes every connection. Calling it while stopped does nothing. */
export async function stopWorker(): Promise<void> {
  if (starting) await starting.catch(() => undefined);
  if (stopping) return stopping;
  const w = running;
  if (!w) return;
  running = undefined;
  stopping = shutdown(w).finally(() => {
    stopping = undefined;
  });
  return stopping;
}
