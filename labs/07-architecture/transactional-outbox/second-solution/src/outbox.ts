import { Kafka, logLevel, type Producer } from "kafkajs";
import pg from "pg";

/** The topic every order event goes to, keyed by order id. */
export const TOPIC = "order-events";
/** Longest the relay waits between two looks at the outbox when it has nothing to publish. */
export const POLL_INTERVAL_MS = 200;
/** Rows the relay publishes per round. */
export const BATCH_SIZE = 100;

export interface NewOrder {
  orderId: string;
  customerId: string;
  amountCents: number;
}

let pool: pg.Pool | undefined;

/** One pool per process, opened on first use. Tables: see fixtures/schema.sql (described in the README). */
export function db(): pg.Pool {
  if (!pool) {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is not set");
    pool = new pg.Pool({ connectionString });
    // An idle connection that breaks is replaced on the next checkout; unhandled, it would kill the process.
    pool.on("error", (error) => console.warn(`idle Postgres connection failed: ${error.message}`));
  }
  return pool;
}

/** A Kafka client for process.env.KAFKA_BROKERS (comma-separated). */
export function kafka(): Kafka {
  return new Kafka({
    clientId: "outbox-relay",
    brokers: (process.env.KAFKA_BROKERS ?? "").split(","),
    logLevel: logLevel.WARN,
    // Fail a round quickly while the broker refuses writes; the next round sends the same rows again.
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

// Design: each write is ONE statement (a data-modifying CTE), so Postgres runs it as one implicit
// transaction: the order and its outbox row commit together or not at all, and the deferred foreign key
// is checked at that statement's implicit COMMIT, which makes the statement itself fail.

/** Stores a new order and its OrderPlaced event. */
export async function placeOrder(order: NewOrder): Promise<void> {
  const { orderId, customerId, amountCents } = order ?? ({} as NewOrder);
  if (!isNonEmptyString(orderId)) throw new TypeError("orderId must be a non-empty string");
  if (!isNonEmptyString(customerId)) throw new TypeError("customerId must be a non-empty string");
  if (!isPositiveInteger(amountCents)) throw new TypeError("amountCents must be a positive integer");
  const payload = JSON.stringify({ orderId, customerId, amountCents });
  const result = await db().query(
    `with placed as (
       insert into orders (id, customer_id, amount_cents, status) values ($1, $2, $3, 'placed')
       returning id
     )
     insert into outbox (aggregate_type, aggregate_id, event_type, payload)
     select 'order', placed.id, 'OrderPlaced', $4::jsonb from placed`,
    [orderId, customerId, amountCents, payload],
  );
  if (result.rowCount !== 1) throw new Error(`order ${orderId} was not stored`);
}

/** Cancels a placed order and records OrderCancelled. */
export async function cancelOrder(orderId: string): Promise<void> {
  if (!isNonEmptyString(orderId)) throw new TypeError("orderId must be a non-empty string");
  const result = await db().query(
    `with cancelled as (
       update orders set status = 'cancelled' where id = $1 and status = 'placed' returning id
     )
     insert into outbox (aggregate_type, aggregate_id, event_type, payload)
     select 'order', cancelled.id, 'OrderCancelled', jsonb_build_object('orderId', cancelled.id)
     from cancelled`,
    [orderId],
  );
  if (result.rowCount !== 1) throw new Error(`order ${orderId} does not exist or is not placed`);
}

interface Relay {
  producer: Producer;
  stopping: boolean;
  wake: () => void;
  done: Promise<void>;
}

let relay: Relay | undefined;
let starting: Promise<void> | undefined;

function sleep(ms: number, current: Relay): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    current.wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

interface OutboxRow {
  id: string;
  aggregate_id: string;
  event_type: string;
  payload: unknown;
}

/**
 * One round, in one transaction: lock the oldest unpublished rows (waiting for, never skipping, a row
 * another transaction holds), send them, wait for the broker's acknowledgement, then mark them and COMMIT.
 * Dying anywhere before COMMIT leaves every row unpublished (and unlocked) for the next relay.
 * Returns how many rows were published.
 */
async function round(producer: Producer): Promise<number> {
  const client = await db().connect();
  const onError = (error: Error) => console.warn(`relay connection failed: ${error.message}`);
  client.on("error", onError);
  let broken: Error | undefined;
  try {
    await client.query("begin");
    const { rows } = await client.query<OutboxRow>(
      `select id, aggregate_id, event_type, payload from outbox
       where published_at is null order by id limit $1 for update`,
      [BATCH_SIZE],
    );
    if (rows.length > 0) {
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: rows.map((row) => ({
          key: row.aggregate_id,
          value: JSON.stringify(row.payload),
          headers: { "event-id": String(row.id), "event-type": row.event_type },
        })),
      });
      await client.query("update outbox set published_at = now() where id = any($1::bigint[])", [
        rows.map((row) => row.id),
      ]);
    }
    await client.query("commit");
    return rows.length;
  } catch (error) {
    broken = error as Error;
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.removeListener("error", onError);
    client.release(broken);
  }
}

async function run(current: Relay): Promise<void> {
  while (!current.stopping) {
    let published = 0;
    try {
      published = await round(current.producer);
    } catch (error) {
      console.warn(`relay round failed, retrying: ${(error as Error).message}`);
    }
    if (published === 0 && !current.stopping) await sleep(POLL_INTERVAL_MS, current);
  }
}

/** Starts publishing the outbox to Kafka in the background. */
export function startRelay(): Promise<void> {
  if (relay) return Promise.resolve();
  starting ??= (async () => {
    const producer = kafka().producer();
    try {
      await producer.connect();
    } catch (error) {
      starting = undefined;
      throw error;
    }
    const current: Relay = { producer, stopping: false, wake: () => undefined, done: Promise.resolve() };
    current.done = run(current);
    relay = current;
    starting = undefined;
  })();
  return starting;
}

/** Stops the relay after the round in progress and disconnects it. */
export async function stopRelay(): Promise<void> {
  if (starting) await starting.catch(() => undefined);
  const current = relay;
  if (!current) return;
  relay = undefined;
  current.stopping = true;
  current.wake();
  await current.done;
  await current.producer.disconnect();
}
