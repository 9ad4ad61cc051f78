import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type pg from "pg";

export type RateLimit = "runs_per_minute" | "runs_in_flight" | "sign_in";

/**
 * What the web app tells Prometheus at /metrics: API latency by route, live progress subscriptions, the
 * grading queue's depth by state (read from Postgres at each scrape, so every replica reports the same
 * queue), refusals by limit and failed sign-ins, plus Node's process metrics. One registry per instance,
 * so tests can make as many as they like.
 */
export class WebMetrics {
  readonly registry = new Registry();
  readonly requestSeconds = new Histogram({
    name: "backend_labs_http_request_duration_seconds",
    help: "API requests by route (tRPC procedure or REST route), method and status",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly liveSubscriptions = new Gauge({
    name: "backend_labs_live_subscriptions",
    help: "Browsers following a Run's progress right now",
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: "backend_labs_rate_limited_total",
    help: "Requests refused by a limit",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });
  readonly signInFailures = new Counter({
    name: "backend_labs_sign_in_failures_total",
    help: "Sign-ins refused for a wrong email or password",
    registers: [this.registry],
  });

  constructor(db: pg.Pool) {
    new Gauge({
      name: "backend_labs_queue_jobs",
      help: "Runs in the grading queue by state",
      labelNames: ["state"] as const,
      registers: [this.registry],
      async collect() {
        const { rows } = await db.query<{ state: string; jobs: number }>(
          `SELECT s.state, count(j.id)::int AS jobs
             FROM unnest(enum_range(NULL::"JobState")) AS s(state)
             LEFT JOIN submissions j ON j.state = s.state
            GROUP BY s.state`,
        );
        this.reset();
        for (const { state, jobs } of rows) this.set({ state }, jobs);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Times one request; `status` is known only when it ends. */
  startRequest(route: string, method: string): (status: number | string) => void {
    const end = this.requestSeconds.startTimer({ route, method });
    return (status) => end({ status: String(status) });
  }
}
