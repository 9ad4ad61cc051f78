import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** The registry GET /metrics serves. Its own, not prom-client's global one, so nothing else can add to it. */
export const registry = new Registry();

// CPU, memory, event loop lag, heap, GC, open file descriptors: free, and the first thing you look at.
collectDefaultMetrics({ register: registry });

// Labels multiply series: every distinct combination of values is a time series Prometheus keeps. Only
// values from a small fixed set belong in a label: the route template, never the path with its ids.
const httpLabels = ["method", "route", "status_code"] as const;

export const httpRequestsTotal = new Counter({
  name: "http_requests_total",
  help: "HTTP requests answered, by method, route template and status code.",
  labelNames: httpLabels,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: "http_request_duration_seconds",
  help: "Time from receiving an HTTP request to answering it, in seconds.",
  labelNames: httpLabels,
  // From 5 ms to 5 s, with boundaries at the latencies an SLO would name (100 ms, 250 ms, 500 ms, 1 s).
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const httpRequestsInFlight = new Gauge({
  name: "http_requests_in_flight",
  help: "HTTP requests received and not answered yet.",
  registers: [registry],
});

export const dbQueryDuration = new Histogram({
  name: "db_query_duration_seconds",
  help: "Time a Postgres query took, failed ones included, in seconds, by query name.",
  labelNames: ["query"] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});
