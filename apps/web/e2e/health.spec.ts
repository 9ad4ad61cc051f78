import { expect, test } from "@playwright/test";

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
