import { expect, test } from "./fixtures.ts";

test("/healthz says the process is alive and /readyz that the database, migrations and catalog are ready", async ({
  request,
}) => {
  const alive = await request.get("/healthz");
  expect(alive.status()).toBe(200);
  expect(alive.headers()["cache-control"]).toBe("no-store");
  expect(await alive.json()).toEqual({ status: "alive" });

  const ready = await request.get("/readyz");
  expect(ready.status()).toBe(200);
  const body = (await ready.json()) as { ready: boolean; checks: { name: string; ok: boolean }[] };
  expect(body.ready).toBe(true);
  expect(body.checks.map(({ name, ok }) => ({ name, ok }))).toEqual([
    { name: "database", ok: true },
    { name: "migrations", ok: true },
    { name: "catalog", ok: true },
  ]);
});

test("/metrics serves Prometheus's text format: the queue by state, API latency, Node's own", async ({
  request,
}) => {
  await request.get("/api/trpc/auth.me");
  const metrics = await request.get("/metrics");
  expect(metrics.status()).toBe(200);
  expect(metrics.headers()["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await metrics.text();
  expect(text).toMatch(/^backend_labs_queue_jobs\{state="queued"\} \d+$/m);
  expect(text).toMatch(
    /^backend_labs_http_request_duration_seconds_count\{route="trpc auth.me",method="GET",status="200"\} \d+$/m,
  );
  expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
});
