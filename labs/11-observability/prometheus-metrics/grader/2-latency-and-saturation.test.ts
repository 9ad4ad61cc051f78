import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  bucketBoundaries,
  bucketDelta,
  call,
  createOrder,
  delta,
  deliberate500,
  expectMetric,
  got,
  type Labels,
  lockOrders,
  newCustomer,
  type Reply,
  type Scrape,
  scrape,
  seriesOf,
  showSeries,
  valueOf,
} from "./helpers.ts";

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, Number.POSITIVE_INFINITY];
const DB_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, Number.POSITIVE_INFINITY];
/** How long the grader's slow requests make their query sleep: above 0.25 s, and above 1 s. */
const SLOW_MS = 300;
const SLOWER_MS = 1_300;
/** A sum this large can only be milliseconds: the slow requests alone take more than 300 of them. */
const MILLISECONDS_SUM = 30;

/** Bucket counts must never decrease with a larger `le`: each bucket counts everything up to its bound. */
function cumulativeProblems(scraped: Scrape, name: string): string[] {
  const groups = new Map<string, { le: number; value: number }[]>();
  for (const sample of seriesOf(scraped, `${name}_bucket`)) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
    groups.set(key, [...(groups.get(key) ?? []), { le: bound, value: sample.value }]);
  }
  const problems: string[] = [];
  for (const [key, buckets] of groups) {
    buckets.sort((a, b) => a.le - b.le);
    if (buckets.some((bucket, i) => i > 0 && bucket.value < buckets[i - 1]!.value)) problems.push(key);
  }
  return problems;
}

/**
 * Holds the orders table locked while `first` is sent, waits `holdMs` with it queued on the lock, then
 * sends `second` and releases the lock: both are answered together, `first` having waited holdMs longer.
 */
async function overlapping(first: () => Promise<Reply>, second: () => Promise<Reply>, holdMs: number) {
  const lock = await lockOrders();
  try {
    const firstReply = first();
    if (!(await lock.waitForQueued(1))) {
      await lock.release();
      return { replies: await Promise.all([firstReply, second()]), queued: false };
    }
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    const secondReply = second();
    const bothQueued = await lock.waitForQueued(2);
    await lock.release();
    return { replies: await Promise.all([firstReply, secondReply]), queued: bothQueued };
  } finally {
    await lock.release();
  }
}

task(3, "Time requests in seconds with a histogram", () => {
  it(`requests of ${SLOW_MS} ms, ${SLOWER_MS} ms and a fast one land in the right buckets, and _sum adds up seconds`, async () => {
    const orderId = await createOrder();
    // Method aside: its label is task 2's to check.
    const labels: Labels = { route: "/orders/:id", status_code: "200" };
    const before = await scrape();
    const replies = [
      await call("GET", `/orders/${orderId}?delay_ms=${SLOW_MS}`),
      await call("GET", `/orders/${orderId}?delay_ms=${SLOWER_MS}`),
      await call("GET", `/orders/${orderId}`),
    ];
    expect(
      replies.map((reply) => reply.status),
      `the three GETs of order ${orderId} must answer 200 (${replies.map(got).join("; ")})`,
    ).toEqual([200, 200, 200]);
    const after = await scrape();
    expectMetric(after, "http_request_duration_seconds", "histogram");

    const labelNames = new Set(
      seriesOf(after, "http_request_duration_seconds_count").map((sample) =>
        Object.keys(sample.labels).sort().join(","),
      ),
    );
    expect(
      [...labelNames],
      "http_request_duration_seconds has the same three labels as the counter, method, route and status_code, " +
        `no other. The series now:\n${showSeries(after, "http_request_duration_seconds_count")}`,
    ).toEqual(["method,route,status_code"]);
    expect(
      delta(before, after, "http_request_duration_seconds_count", labels),
      `three requests were answered, so http_request_duration_seconds_count${JSON.stringify(labels)} must grow ` +
        `by 3: observe once per request, with the same labels as the counter. The series now:\n` +
        showSeries(after, "http_request_duration_seconds_count"),
    ).toBe(3);
    expect(
      bucketBoundaries(after, "http_request_duration_seconds", labels),
      "http_request_duration_seconds must have the README's buckets (0.005 ... 5 seconds, then +Inf). " +
        "Buckets are fixed when the histogram is created: pass them as `buckets`",
    ).toEqual(HTTP_BUCKETS);
    expect(
      delta(before, after, "http_request_duration_seconds_count", labels),
      "the histogram's _count and http_requests_total must agree for the same labels: record both at the same moment",
    ).toBe(delta(before, after, "http_requests_total", labels));
    expect(
      bucketDelta(before, after, "http_request_duration_seconds", labels, 0.25),
      `the ${SLOW_MS} ms and ${SLOWER_MS} ms requests were observed at 0.25 s or less: observe the time from ` +
        "the request's arrival until it has been answered, after awaiting the handler, not before it runs",
    ).toBeLessThanOrEqual(1);
    expect(
      bucketDelta(before, after, "http_request_duration_seconds", labels, 1),
      `the ${SLOWER_MS} ms request was observed below 1 s: the whole duration counts. If you use ` +
        "process.hrtime(), its [seconds, nanoseconds] pair needs both parts; process.hrtime.bigint() or " +
        "histogram.startTimer() avoid the trap",
    ).toBeLessThanOrEqual(2);
    const sum = delta(before, after, "http_request_duration_seconds_sum", labels);
    expect(
      sum,
      `_sum must grow by the three durations in seconds: at least ${(SLOW_MS + SLOWER_MS) / 1000}, got ${sum}`,
    ).toBeGreaterThanOrEqual((SLOW_MS + SLOWER_MS) / 1000);
    expect(
      sum,
      `_sum grew by ${sum}: that is milliseconds, not seconds. Prometheus units are base units: divide by 1000`,
    ).toBeLessThan(MILLISECONDS_SUM);
    expect(
      bucketDelta(before, after, "http_request_duration_seconds", labels, 5),
      'the three requests took far less than 5 s, so le="5" must grow by 3 (buckets are cumulative)',
    ).toBe(3);
    expect(
      cumulativeProblems(after, "http_request_duration_seconds"),
      "bucket counts must not decrease as le grows: each bucket counts every observation up to its bound",
    ).toEqual([]);
  });

  it("overlapping requests are each timed from their own arrival", async () => {
    const orderId = await createOrder();
    // Method aside: its label is task 2's to check.
    const labels: Labels = { route: "/orders/:id", status_code: "200" };
    const before = await scrape();
    const { replies, queued } = await overlapping(
      () => call("GET", `/orders/${orderId}`),
      () => call("GET", `/orders/${orderId}`),
      SLOWER_MS,
    );
    expect(queued, "the two GETs of /orders/:id never reached Postgres (they should run get_order)").toBe(
      true,
    );
    expect(
      replies.map((reply) => reply.status),
      `both GETs of order ${orderId} must answer 200 (${replies.map(got).join("; ")})`,
    ).toEqual([200, 200]);
    const after = await scrape();
    expectMetric(after, "http_request_duration_seconds", "histogram");
    expect(
      delta(before, after, "http_request_duration_seconds_count", labels),
      `two requests were answered: http_request_duration_seconds_count${JSON.stringify(labels)} must grow by 2`,
    ).toBe(2);
    expect(
      bucketDelta(before, after, "http_request_duration_seconds", labels, 1),
      `the first request waited at least ${SLOWER_MS} ms (the second arrived ${SLOWER_MS} ms after it, and ` +
        "both were answered together), yet both were observed below 1 s. Time each request from its own " +
        "arrival: when single requests are timed right (the test above), the start time is likely shared " +
        "by all requests (a module-level variable); keep it in a variable of the request's own, or use " +
        "one startTimer() per request",
    ).toBeLessThanOrEqual(1);
  });
});

task(4, "Track requests in flight with a gauge", () => {
  it("http_requests_in_flight shows the requests being served, and is back to 0 after they end, failed ones too", async () => {
    const orderId = await createOrder();
    const failed = await call("POST", "/orders", { customerId: newCustomer(), item: "vase", quantity: 0 });
    expect(failed.status, `POST /orders with quantity 0 must end as a 500 (${got(failed)})`).toBe(500);
    const unknown = await call("GET", "/nothing-here");
    expect(unknown.status, `GET /nothing-here matches no route: 404 (${got(unknown)})`).toBe(404);

    const idle = await scrape();
    expectMetric(idle, "http_requests_in_flight", "gauge");
    expect(
      seriesOf(idle, "http_requests_in_flight").map((sample) => sample.labels),
      `http_requests_in_flight is one gauge without labels. The series now:\n${showSeries(idle, "http_requests_in_flight")}`,
    ).toEqual([{}]);
    expect(
      valueOf(idle, "http_requests_in_flight"),
      "with no request being served, http_requests_in_flight must be 0: increment it once when every request " +
        "arrives and decrement it once whatever way it ends (a 404, a thrown error...), in a finally block. " +
        `GET /metrics itself is not tracked. ${deliberate500}`,
    ).toBe(0);

    const lock = await lockOrders();
    const inFlight = Promise.all(Array.from({ length: 3 }, () => call("GET", `/orders/${orderId}`)));
    let queued: boolean;
    let during: Scrape | undefined;
    try {
      queued = await lock.waitForQueued(3);
      if (queued) during = await scrape();
    } finally {
      await lock.release();
    }
    const replies = await inFlight;
    expect(queued, "the 3 GETs of /orders/:id never all reached Postgres (they should run get_order)").toBe(
      true,
    );
    expect(
      valueOf(during!, "http_requests_in_flight"),
      "while 3 requests were being served (their queries held up in Postgres), http_requests_in_flight must " +
        "be 3: increment it when a request arrives, before awaiting the handler",
    ).toBe(3);
    expect(
      replies.map((reply) => reply.status),
      `the 3 GETs of order ${orderId} must answer 200 (${replies.map(got).join("; ")})`,
    ).toEqual([200, 200, 200]);
    expect(
      valueOf(await scrape(), "http_requests_in_flight"),
      "once the 3 requests are answered, http_requests_in_flight must be back to 0",
    ).toBe(0);
  });
});

task(5, "Time Postgres queries by name", () => {
  it("db_query_duration_seconds observes every query under its name, failed ones too, in seconds", async () => {
    const orderId = await createOrder();
    const customer = newCustomer();
    const before = await scrape();
    const replies = [
      await call("GET", `/orders/${orderId}?delay_ms=${SLOWER_MS}`),
      await call("POST", "/orders", { customerId: customer, item: "rug", quantity: 2 }),
      await call("POST", "/orders", { customerId: customer, item: "rug", quantity: 0 }),
      await call("GET", `/customers/${customer}/orders`),
    ];
    expect(
      replies.map((reply) => reply.status),
      `the requests must answer 200, 201, 500, 200 (${replies.map(got).join("; ")})`,
    ).toEqual([200, 201, 500, 200]);
    const after = await scrape();
    expectMetric(after, "db_query_duration_seconds", "histogram");

    const labelNames = new Set(
      seriesOf(after, "db_query_duration_seconds_count").map((sample) =>
        Object.keys(sample.labels).join(","),
      ),
    );
    expect(
      [...labelNames],
      "db_query_duration_seconds has exactly one label, query, no other. The series now:\n" +
        showSeries(after, "db_query_duration_seconds_count"),
    ).toEqual(["query"]);
    const getOrder = { query: "get_order" };
    expect(
      delta(before, after, "db_query_duration_seconds_count", getOrder),
      'GET /orders/:id runs query("get_order", ...) once: its _count must grow by 1. The label is the name ' +
        `passed to query(), never the SQL text. The series now:\n${showSeries(after, "db_query_duration_seconds_count")}`,
    ).toBe(1);
    expect(
      bucketBoundaries(after, "db_query_duration_seconds", getOrder),
      'db_query_duration_seconds{query="get_order"} must have the README\'s buckets (0.001 ... 2.5 s, then +Inf)',
    ).toEqual(DB_BUCKETS);
    expect(
      bucketDelta(before, after, "db_query_duration_seconds", getOrder, 0.25),
      `the get_order query slept ${SLOWER_MS} ms, yet it was observed at 0.25 s or less: stop the timer once ` +
        "the query has finished (after awaiting it), not when it starts",
    ).toBe(0);
    expect(
      bucketDelta(before, after, "db_query_duration_seconds", getOrder, 1),
      `the get_order query slept ${SLOWER_MS} ms, yet it was observed below 1 s: the whole duration counts. ` +
        "If you use process.hrtime(), its [seconds, nanoseconds] pair needs both parts",
    ).toBe(0);
    const dbSum = delta(before, after, "db_query_duration_seconds_sum", getOrder);
    expect(
      dbSum,
      `db_query_duration_seconds_sum{query="get_order"} must grow by the query's time in seconds, at least ` +
        `${SLOWER_MS / 1000}; it grew by ${dbSum}`,
    ).toBeGreaterThanOrEqual(SLOWER_MS / 1000);
    expect(
      dbSum,
      `db_query_duration_seconds_sum{query="get_order"} grew by ${dbSum}: that is milliseconds, not seconds ` +
        "(divide by 1000)",
    ).toBeLessThan(MILLISECONDS_SUM);
    expect(
      delta(before, after, "db_query_duration_seconds_count", { query: "insert_order" }),
      "two inserts ran, one of them failed on the CHECK constraint: both took time and both must be observed " +
        `(stop the timer in a finally block). ${deliberate500}`,
    ).toBe(2);
    expect(
      delta(before, after, "db_query_duration_seconds_count", { query: "list_customer_orders" }),
      'GET /customers/:customerId/orders runs query("list_customer_orders", ...) once',
    ).toBe(1);
  });

  it("overlapping queries are each timed from their own start", async () => {
    const orderId = await createOrder();
    const getOrder = { query: "get_order" };
    const before = await scrape();
    const { replies, queued } = await overlapping(
      () => call("GET", `/orders/${orderId}`),
      () => call("GET", `/orders/${orderId}`),
      SLOWER_MS,
    );
    expect(queued, "the two GETs of /orders/:id never reached Postgres (they should run get_order)").toBe(
      true,
    );
    expect(
      replies.map((reply) => reply.status),
      `both GETs of order ${orderId} must answer 200 (${replies.map(got).join("; ")})`,
    ).toEqual([200, 200]);
    const after = await scrape();
    expectMetric(after, "db_query_duration_seconds", "histogram");
    expect(
      delta(before, after, "db_query_duration_seconds_count", getOrder),
      'two get_order queries ran: db_query_duration_seconds_count{query="get_order"} must grow by 2',
    ).toBe(2);
    expect(
      bucketDelta(before, after, "db_query_duration_seconds", getOrder, 1),
      `the first get_order query waited at least ${SLOWER_MS} ms (the second started ${SLOWER_MS} ms after it, ` +
        "and both finished together), yet both were observed below 1 s. Time each query from its own start: " +
        "when single queries are timed right (the test above), the start time is likely shared by all " +
        "queries (a module-level variable); keep it in a variable inside query(), or use one startTimer() " +
        "per call",
    ).toBeLessThanOrEqual(1);
  });
});
