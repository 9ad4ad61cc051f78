import { Kafka, logLevel } from "kafkajs";
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
  });
}

/** Stores a new order and its OrderPlaced event. */
export function placeOrder(order: NewOrder): Promise<void> {
  // TODO 1: validate, then on ONE client: BEGIN, insert the order, insert the outbox row, COMMIT.
  //         COMMIT can fail (the customer foreign key is checked there): roll back and reject.
  return Promise.reject(new Error(`placeOrder(${order.orderId}) is not implemented yet`));
}

/** Cancels a placed order and records OrderCancelled. */
export function cancelOrder(orderId: string): Promise<void> {
  // TODO 1: in one transaction: placed -> cancelled (reject if no such placed order), then the outbox row.
  return Promise.reject(new Error(`cancelOrder(${orderId}) is not implemented yet`));
}

/** Starts publishing the outbox to Kafka in the background. */
export function startRelay(): Promise<void> {
  // TODO 2: loop until stopRelay(): read unpublished rows in id order, send them to TOPIC (key, value,
  //         headers event-id and event-type), then mark them published; pause when there is nothing to do.
  // TODO 3: what does the next relay publish if this one dies on any line of that loop?
  return Promise.reject(new Error("startRelay() is not implemented yet"));
}

/** Stops the relay after the round in progress and disconnects it. */
export function stopRelay(): Promise<void> {
  return Promise.resolve();
}
