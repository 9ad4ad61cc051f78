import { expect, it } from "vitest";
import { task, uid } from "@backend-labs/graders";
import {
  call,
  createOrder,
  delta,
  deliberate500,
  expectMetric,
  got,
  type Labels,
  newCustomer,
  type Reply,
  type Scrape,
  scrape,
  seriesOf,
  showSeries,
} from "./helpers.ts";

const templates = ["/orders/:id", "/orders", "/customers/:customerId/orders", "unmatched"];
const total = (scraped: Scrape, name: string): number =>
  seriesOf(scraped, name).reduce((sum, sample) => sum + sample.value, 0);

task(1, "Expose GET /metrics in the Prometheus text format", () => {
  it("GET /metrics answers the text format with the default process metrics and the four metrics declared", async () => {
    const orderId = await createOrder();
    const reply = await call("GET", `/orders/${orderId}`);
    expect(reply.status, `GET /orders/${orderId} must answer 200 (${got(reply)})`).toBe(200);

    const scraped = await scrape();
    expect(
      scraped.status,
      "GET /metrics must answer 200 with what registry.metrics() resolves to (it returns a promise: await it)",
    ).toBe(200);
    expect(
      scraped.contentType,
      "the Content-Type of /metrics must be the registry's contentType (text/plain; version=0.0.4; ...): " +
        `Prometheus picks its parser from it. It was ${scraped.contentType ? `"${scraped.contentType}"` : "not set"}`,
    ).toMatch(/^text\/plain;.*version=0\.0\.4/);
    expect(
      scraped.invalid,
      'every line of /metrics must be a comment or a sample `name{label="value",...} number`',
    ).toEqual([]);

    const defaults: [string, string][] = [
      ["process_cpu_user_seconds_total", "counter"],
      ["process_resident_memory_bytes", "gauge"],
      ["nodejs_eventloop_lag_seconds", "gauge"],
      ["nodejs_heap_size_used_bytes", "gauge"],
    ];
    const missing = defaults.filter(([name]) => !scraped.types.has(name)).map(([name]) => name);
    expect(
      missing,
      "default process metrics are missing from /metrics: call collectDefaultMetrics({ register: registry }) " +
        "once, on the registry that /metrics serves (without `register` they go to prom-client's global " +
        "registry, which /metrics does not serve)",
    ).toEqual([]);
    for (const [name, type] of defaults) {
      expect(
        scraped.types.get(name),
        `${name} must be declared as a ${type}, as collectDefaultMetrics does`,
      ).toBe(type);
    }
    expect(
      seriesOf(scraped, "process_cpu_user_seconds_total")[0]?.value ?? 0,
      "process_cpu_user_seconds_total must hold the CPU time the process has used, more than 0",
    ).toBeGreaterThan(0);

    const declared: [string, string][] = [
      ["http_requests_total", "counter"],
      ["http_request_duration_seconds", "histogram"],
      ["http_requests_in_flight", "gauge"],
      ["db_query_duration_seconds", "histogram"],
    ];
    for (const [name, type] of declared) expectMetric(scraped, name, type);
  });

  it("scrapes are not traffic: GET /metrics is neither counted nor timed", async () => {
    const first = await scrape();
    expect(first.status, `GET /metrics must answer 200 (${got(first)})`).toBe(200);
    await scrape();
    const last = await scrape();
    const scrapes = seriesOf(last, "http_requests_total").filter((sample) =>
      (sample.labels.route ?? "").includes("metrics"),
    );
    expect(
      scrapes.map((sample) => sample.labels),
      "Prometheus scrapes every few seconds: serve GET /metrics before the request metrics start, so " +
        "scrapes do not show up as traffic in http_requests_total",
    ).toEqual([]);
    expect(
      total(last, "http_requests_total"),
      "three scrapes in a row must not change http_requests_total: GET /metrics is not counted",
    ).toBe(total(first, "http_requests_total"));
    expect(
      total(last, "http_request_duration_seconds_count"),
      "three scrapes in a row must not change http_request_duration_seconds: GET /metrics is not timed",
    ).toBe(total(first, "http_request_duration_seconds_count"));
  });

  it("only GET /metrics is the exposition: POST /metrics, /metrics/x and /metricsx are unmatched requests, counted as such", async () => {
    const before = await scrape();
    const requests: [string, string][] = [
      ["GET", `/metrics/${uid("x")}`],
      ["GET", `/metrics${uid("x")}`],
      ["POST", "/metrics"],
    ];
    const replies = await Promise.all(requests.map(([method, path]) => call(method, path)));
    for (const [i, reply] of replies.entries()) {
      const [method, path] = requests[i]!;
      const how =
        method === "GET"
          ? 'compare the pathname with "/metrics" exactly, not with startsWith'
          : "the exposition is GET /metrics only: check the method as well as the path";
      expect(
        reply.status,
        `${method} ${path} matches no route: it must answer 404 like any unknown request, not serve the ` +
          `metrics (${how}) (${got(reply)})`,
      ).toBe(404);
    }
    const after = await scrape();
    expect(
      delta(before, after, "http_requests_total", { route: "unmatched", status_code: "404" }),
      `${requests.map(([method, path]) => `${method} ${path}`).join(", ")} are requests no route matches: ` +
        'each is counted once under route="unmatched", status_code="404". The series now:\n' +
        showSeries(after, "http_requests_total"),
    ).toBe(requests.length);
  });
});

task(2, "Count requests by method, route template and status code", () => {
  it("each request is counted once, under its method, route template and the status code it got", async () => {
    const orderId = await createOrder();
    const customer = newCustomer();
    const before = await scrape();
    const requests: [string, string, unknown, number][] = [
      ["GET", `/orders/${orderId}`, undefined, 200],
      ["GET", "/orders/999999999001", undefined, 404],
      ["GET", "/orders/999999999002", undefined, 404],
      ["POST", "/orders", { customerId: customer, item: "desk", quantity: 1 }, 201],
      ["POST", "/orders", "this is not JSON", 400],
      ["POST", "/orders", { customerId: customer, item: "chair", quantity: 0 }, 500],
      ["GET", `/customers/${customer}/orders`, undefined, 200],
      ["GET", `/no-such-route/${uid("x")}`, undefined, 404],
    ];
    for (const [method, path, body, status] of requests) {
      const reply = await call(method, path, body);
      expect(reply.status, `${method} ${path} must answer ${status} (${got(reply)})`).toBe(status);
    }
    const after = await scrape();
    expectMetric(after, "http_requests_total", "counter");

    const labelNames = new Set(
      seriesOf(after, "http_requests_total").map((sample) => Object.keys(sample.labels).sort().join(",")),
    );
    expect(
      [...labelNames],
      "every http_requests_total series must have exactly the labels method, route and status_code, no " +
        `other. The series now:\n${showSeries(after, "http_requests_total")}`,
    ).toEqual(["method,route,status_code"]);
    const methods = [
      ...new Set(seriesOf(after, "http_requests_total").map((sample) => sample.labels.method)),
    ];
    expect(
      methods.filter((method) => method !== method?.toUpperCase()),
      "the method label is the request's method as it came (GET, POST), upper case",
    ).toEqual([]);
    const routes = [...new Set(seriesOf(after, "http_requests_total").map((sample) => sample.labels.route))];
    expect(
      routes.filter((route) => !templates.includes(route ?? "")).slice(0, 5),
      "the route label must be the template of the route that matched (/orders/:id), or unmatched: never the " +
        "path the client sent",
    ).toEqual([]);

    const expected: [Labels, number][] = [
      [{ method: "GET", route: "/orders/:id", status_code: "200" }, 1],
      [{ method: "GET", route: "/orders/:id", status_code: "404" }, 2],
      [{ method: "POST", route: "/orders", status_code: "201" }, 1],
      [{ method: "POST", route: "/orders", status_code: "400" }, 1],
      [{ method: "POST", route: "/orders", status_code: "500" }, 1],
      [{ method: "GET", route: "/customers/:customerId/orders", status_code: "200" }, 1],
      [{ method: "GET", route: "unmatched", status_code: "404" }, 1],
    ];
    for (const [labels, count] of expected) {
      const grew = delta(before, after, "http_requests_total", labels);
      const why =
        grew > count
          ? `it grew by ${grew}: count each request exactly once (one inc, in one place that every request ` +
            "passes once, such as a finally block; not also in the catch)"
          : "status_code is the status the client got, as a string, known only once the handler has answered " +
            "(a 404 and a 500 too): count the request after the handler, not when it arrives";
      expect(
        grew,
        `http_requests_total${JSON.stringify(labels)} must grow by ${count}: ${why}. The series now:\n` +
          `${showSeries(after, "http_requests_total")}\n${deliberate500}`,
      ).toBe(count);
    }
    for (const [labels] of expected) {
      expect(
        delta(before, after, "http_request_duration_seconds_count", labels),
        `every counted request is also timed: http_request_duration_seconds_count${JSON.stringify(labels)} must ` +
          "grow as much as http_requests_total for the same labels (404s of unmatched paths and 500s too)",
      ).toBe(delta(before, after, "http_requests_total", labels));
    }
  });

  it("a route matches the whole path: longer or shorter paths than a template are unmatched", async () => {
    const orderId = await createOrder();
    const customer = newCustomer();
    const before = await scrape();
    const requests: [string, string][] = [
      ["GET", `/orders/${orderId}/items`],
      ["GET", `/customers/${customer}/orders/${orderId}`],
      ["GET", "/orders"],
      ["POST", `/orders/${orderId}`],
    ];
    for (const [method, path] of requests) {
      const reply = await call(method, path);
      expect(
        reply.status,
        `${method} ${path} matches none of the three routes (a template matches a path with exactly as many ` +
          "segments, and only for its method): it must answer 404, as the starter's matchRoute does " +
          `(${got(reply)})`,
      ).toBe(404);
    }
    const after = await scrape();
    expect(
      delta(before, after, "http_requests_total", { route: "unmatched", status_code: "404" }),
      `${requests.map(([method, path]) => `${method} ${path}`).join(", ")} match no route: each is counted once ` +
        `under route="unmatched", status_code="404". The series now:\n${showSeries(after, "http_requests_total")}`,
    ).toBe(requests.length);
  });

  it("ids in paths never become label values: many distinct paths map to a few route templates", async () => {
    const before = await scrape();
    const ids = Array.from({ length: 30 }, (_, i) =>
      String(900_000_000_000 + Math.floor(Math.random() * 1e9) + i),
    );
    const customers = Array.from({ length: 10 }, () => newCustomer());
    const junk = Array.from({ length: 10 }, () => `/wp-admin/${uid("probe")}`);
    const requests: [string, string][] = [
      ...ids.map((id): [string, string] => ["GET", `/orders/${id}`]),
      ...customers.map((customer): [string, string] => ["GET", `/customers/${customer}/orders`]),
      ...junk.map((path): [string, string] => ["GET", path]),
      ["DELETE", "/orders/1"],
      ["DELETE", "/orders/2"],
    ];
    // A few at a time: concurrent, yet light enough for a busy machine.
    const statuses: Reply[] = [];
    for (let i = 0; i < requests.length; i += 8)
      statuses.push(
        ...(await Promise.all(requests.slice(i, i + 8).map(([method, path]) => call(method, path)))),
      );
    expect(
      statuses.filter((reply) => reply.status >= 500).map(got),
      "none of these requests should fail",
    ).toEqual([]);
    const after = await scrape();
    expectMetric(after, "http_requests_total", "counter");

    const routes = new Set(seriesOf(after, "http_requests_total").map((sample) => sample.labels.route));
    const unexpected = [...routes].filter((route) => !templates.includes(route ?? ""));
    expect(
      unexpected.slice(0, 5),
      "the route label must be the route's template (/orders/:id), never the path the client sent: every " +
        "distinct value is a new time series in Prometheus, so ids in labels grow its memory without bound. " +
        `Allowed values: ${templates.join(", ")}. Found ${unexpected.length} others, such as`,
    ).toEqual([]);
    // Counted by route and status only: the method label's mistakes are the previous test's to name.
    expect(
      delta(before, after, "http_requests_total", { route: "unmatched", status_code: "404" }),
      "the 10 GETs of /wp-admin/<random> and the 2 DELETE /orders/<id> match no route (no route has method " +
        'DELETE): all 12 must be counted under route="unmatched", status_code="404". The series now:\n' +
        showSeries(after, "http_requests_total"),
    ).toBe(12);
    expect(
      delta(before, after, "http_requests_total", { route: "/orders/:id", status_code: "404" }),
      "the 30 GETs of /orders/<unknown id> must all be counted under route /orders/:id, status 404",
    ).toBe(30);
    expect(
      delta(before, after, "http_requests_total", {
        route: "/customers/:customerId/orders",
        status_code: "200",
      }),
      "the 10 GETs of /customers/<id>/orders must be counted under route /customers/:customerId/orders",
    ).toBe(10);
  });
});
