import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  bucketBoundaries,
  bucketDelta,
  call,
  createOrder,
  delta,
  got,
  type Labels,
  newCustomer,
  type Scrape,
  scrape,
  seriesOf,
  showSeries,
  valueOf,
} from "./helpers.ts";

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, Number.POSITIVE_INFINITY];
const DB_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, Number.POSITIVE_INFINITY];
/** How long the grader's slow requests make their query sleep. */
const SLOW_MS = 300;

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

task(3, "Time requests in seconds with a histogram", () => {
  it(`a ${SLOW_MS} ms request and a fast one land in the right buckets, and _sum adds up seconds`, async () => {
    const orderId = await createOrder();
    const labels: Labels = { method: "GET", route: "/orders/:id", status_code: "200" };
    const before = await scrape();
    const slow = await call("GET", `/orders/${orderId}?delay_ms=${SLOW_MS}`);
    const fast = await call("GET", `/orders/${orderId}`);
    expect(
      [slow.status, fast.status],
      `both GETs of order ${orderId} must answer 200 (${got(slow)})`,
    ).toEqual([200, 200]);
    const after = await scrape();

    expect(
      delta(before, after, "http_request_duration_seconds_count", labels),
      `two requests were answered, so http_request_duration_seconds_count${JSON.stringify(labels)} must grow ` +
        `by 2: observe once per request, with the same labels as the counter. The series now:\n` +
        showSeries(after, "http_request_duration_seconds_count"),
    ).toBe(2);
    expect(
      bucketBoundaries(after, "http_request_duration_seconds", labels),
      "http_request_duration_seconds must have the README's buckets (0.005 ... 5 seconds, then +Inf). " +
        "Buckets are fixed when the histogram is created: pass them as `buckets`",
    ).toEqual(HTTP_BUCKETS);
    expect(
      delta(before, after, "http_request_duration_seconds_count", labels),
      "the histogram's _count and http_requests_total must agree for the same labels: record both at the same moment",
    ).toBe(delta(before, after, "http_requests_total", labels));
    const sum = delta(before, after, "http_request_duration_seconds_sum", labels);
    expect(
      sum,
      `_sum must grow by the two durations in SECONDS: at least ${SLOW_MS / 1000} (the slow request alone), got ` +
        `${sum}. Prometheus units are base units: seconds, not milliseconds`,
    ).toBeGreaterThanOrEqual(SLOW_MS / 1000);
    expect(sum, `_sum grew by ${sum}: that is milliseconds, not seconds (divide by 1000)`).toBeLessThan(3);
    expect(
      bucketDelta(before, after, "http_request_duration_seconds", labels, 0.25),
      `only the fast request fits in le="0.25": the ${SLOW_MS} ms one must not. Observe the time from the ` +
        "request's arrival to its answer, in seconds",
    ).toBe(1);
    expect(
      bucketDelta(before, after, "http_request_duration_seconds", labels, 2.5),
      'both requests took less than 2.5 s, so le="2.5" must grow by 2 (buckets are cumulative)',
    ).toBe(2);
    expect(
      cumulativeProblems(after, "http_request_duration_seconds"),
      "bucket counts must not decrease as le grows: each bucket counts every observation up to its bound",
    ).toEqual([]);
  });
});

task(4, "Track requests in flight with a gauge", () => {
  it("http_requests_in_flight shows the requests being served, and is back to 0 after they end, failed ones too", async () => {
    const orderId = await createOrder();
    const failed = await call("POST", "/orders", { customerId: newCustomer(), item: "vase", quantity: 0 });
    expect(failed.status, `POST /orders with quantity 0 must end as a 500 (${got(failed)})`).toBe(500);
    await call("GET", "/nothing-here");

    const idle = await scrape();
    expect(
      seriesOf(idle, "http_requests_in_flight").map((sample) => sample.labels),
      "http_requests_in_flight is one gauge without labels",
    ).toEqual([{}]);
    expect(
      valueOf(idle, "http_requests_in_flight"),
      "with no request being served, http_requests_in_flight must be 0: decrement it whatever way a request " +
        "ends (a 404, a thrown error...), in a finally block. GET /metrics itself is not counted",
    ).toBe(0);

    const inFlight = Array.from({ length: 3 }, () => call("GET", `/orders/${orderId}?delay_ms=700`));
    let highest = 0;
    const deadline = Date.now() + 600;
    while (highest < 3 && Date.now() < deadline) {
      highest = Math.max(highest, valueOf(await scrape(), "http_requests_in_flight"));
      await sleep(20);
    }
    expect(
      highest,
      "while 3 slow requests were being served, /metrics never showed http_requests_in_flight 3: increment " +
        "it when a request arrives, before awaiting the handler",
    ).toBe(3);
    await Promise.all(inFlight);
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
      await call("GET", `/orders/${orderId}?delay_ms=${SLOW_MS}`),
      await call("POST", "/orders", { customerId: customer, item: "rug", quantity: 2 }),
      await call("POST", "/orders", { customerId: customer, item: "rug", quantity: 0 }),
      await call("GET", `/customers/${customer}/orders`),
    ];
    expect(
      replies.map((reply) => reply.status),
      `the requests must answer 200, 201, 500, 200 (${replies.map(got).join("; ")})`,
    ).toEqual([200, 201, 500, 200]);
    const after = await scrape();

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
      `the get_order query slept ${SLOW_MS} ms: it must not land in le="0.25" (observe seconds, around the query)`,
    ).toBe(0);
    expect(
      bucketDelta(before, after, "db_query_duration_seconds", getOrder, 2.5),
      `the get_order query took about ${SLOW_MS} ms: le="2.5" must grow by 1`,
    ).toBe(1);
    const dbSum = delta(before, after, "db_query_duration_seconds_sum", getOrder);
    expect(
      dbSum >= SLOW_MS / 1000 && dbSum < 3,
      `db_query_duration_seconds_sum{query="get_order"} must grow by the query's time in seconds, about ` +
        `${SLOW_MS / 1000}; it grew by ${dbSum}`,
    ).toBe(true);
    expect(
      delta(before, after, "db_query_duration_seconds_count", { query: "insert_order" }),
      "two inserts ran, one of them failed on the CHECK constraint: both took time and both must be observed " +
        "(stop the timer in a finally block)",
    ).toBe(2);
    expect(
      delta(before, after, "db_query_duration_seconds_count", { query: "list_customer_orders" }),
      'GET /customers/:customerId/orders runs query("list_customer_orders", ...) once',
    ).toBe(1);
    const labelNames = new Set(
      seriesOf(after, "db_query_duration_seconds_count").map((sample) =>
        Object.keys(sample.labels).join(","),
      ),
    );
    expect([...labelNames], "db_query_duration_seconds has exactly one label, query").toEqual(["query"]);
  });
});
