import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** The registry GET /metrics serves. */
export const registry = new Registry();

collectDefaultMetrics({ register: registry });

const httpLabels = ["method", "route", "status_code"] as const;

export const httpRequestsTotal = new Counter({
  name: "http_requests_total",
  help: "HTTP requests answered, by method, route template and status code.",
  labelNames: httpLabels,
  registers: [registry],
});

export const httpRequestDurationSeconds = new Histogram({
  name: "http_request_duration_seconds",
  help: "Time from a request's arrival to its answer, in seconds.",
  labelNames: httpLabels,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const httpRequestsInFlight = new Gauge({
  name: "http_requests_in_flight",
  help: "HTTP requests being served right now.",
  registers: [registry],
});

export const dbQueryDurationSeconds = new Histogram({
  name: "db_query_duration_seconds",
  help: "Postgres query durations, in seconds, by query name.",
  labelNames: ["query"] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});
