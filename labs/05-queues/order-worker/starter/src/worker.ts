// Use kafkajs (`import { Kafka } from "kafkajs"`, brokers from process.env.KAFKA_BROKERS, comma-separated)
// and pg (`import pg from "pg"`, process.env.DATABASE_URL). Topics `orders` (4 partitions) and `orders.dlq`
// already exist, and so do the tables processed_orders and customer_totals (see the README).
export const ordersTopic = "orders";
export const deadLetterTopic = "orders.dlq";
export const groupId = "order-worker";

/** The JSON value of every message on `orders`; the message key is the customer id. */
export interface Order {
  orderId: string;
  customerId: string;
  amountCents: number;
}

/**
 * Joins consumer group `order-worker` on topic `orders` and starts applying orders; resolves once the
 * consumer is running. Calling it while the worker already runs does nothing.
 */
export function startWorker(): Promise<void> {
  // TODO 1: consume `orders` in group `order-worker` (from the beginning when the group is new) and apply
  //         each order in ONE transaction: record it in processed_orders, and add it to customer_totals
  //         only if it was not recorded before.
  // TODO 2: autoCommit off; commit message.offset + 1 only once that transaction has committed. Keep the
  //         session timeout short so a crashed worker's partitions are handed over quickly.
  // TODO 3: one partition's messages one after another; different partitions in parallel.
  // TODO 4: a message that can never be applied goes to `orders.dlq`, then the worker moves on.
  return Promise.reject(new Error("not implemented: startWorker()"));
}

/** Leaves the group cleanly and closes every connection. Calling it while stopped does nothing. */
export function stopWorker(): Promise<void> {
  return Promise.reject(new Error("not implemented: stopWorker()"));
}
