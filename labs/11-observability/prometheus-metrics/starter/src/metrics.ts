import { Registry } from "prom-client";

/** The registry GET /metrics serves. */
export const registry = new Registry();

// TODO 1: the default process metrics (CPU, memory, event loop lag...) in this registry.
// TODO 2-5: http_requests_total, http_request_duration_seconds, http_requests_in_flight and
// db_query_duration_seconds, as the README specifies them (names, types, labels, buckets).
