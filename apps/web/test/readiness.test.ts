import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestDatabase, type TestDatabase } from "@backend-labs/db/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readiness } from "../src/server/health/readiness.ts";
import { labCatalog } from "../src/server/labs/lab-catalog.ts";
import { labsDir } from "./support/router-harness.ts";

const migrationsDir = fileURLToPath(new URL("../../../packages/db/prisma/migrations", import.meta.url));

let server: TestDatabase;
const pools: pg.Pool[] = [];
const emptyLabsDir = mkdtempSync(join(tmpdir(), "no-labs-"));
const catalog = labCatalog(labsDir, { reload: false });

beforeAll(async () => {
  server = await startTestDatabase();
});
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await server[Symbol.asyncDispose]();
  rmSync(emptyLabsDir, { recursive: true, force: true });
});

function pool(url: string): pg.Pool {
  const created = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 5_000 });
  created.on("error", () => undefined); // an idle client of a stopped server: the checks report it
  pools.push(created);
  return created;
}

describe("readiness", () => {
  it("is ready with a migrated database and the labs loaded", async () => {
    expect(await readiness({ pool: pool(server.url), catalog, migrationsDir })).toEqual({
      ready: true,
      checks: [
        { name: "database", ok: true, detail: "answers" },
        { name: "migrations", ok: true, detail: "all applied" },
        { name: "catalog", ok: true, detail: `${catalog.current().labs.length} labs` },
      ],
    });
  });

  it("names the migrations a database still lacks", async () => {
    const admin = pool(server.url);
    await admin.query("CREATE DATABASE never_migrated");
    const url = new URL(server.url);
    url.pathname = "/never_migrated";
    const result = await readiness({ pool: pool(url.toString()), catalog, migrationsDir });
    expect(result.ready).toBe(false);
    expect(result.checks[1]).toMatchObject({ name: "migrations", ok: false });
    expect(result.checks[1]!.detail).toMatch(/^not applied: \d+_init/);
  });

  it("says the database does not answer, without waiting on it for long", async () => {
    const started = Date.now();
    const result = await readiness(
      { pool: pool("postgres://nobody:secret@127.0.0.1:1/none"), catalog, migrationsDir },
      { timeoutMs: 1_000 },
    );
    expect(result.ready).toBe(false);
    expect(result.checks[0]).toMatchObject({ name: "database", ok: false });
    expect(result.checks[1]).toEqual({
      name: "migrations",
      ok: false,
      detail: "not checked: the database does not answer",
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("is not ready with no labs to serve", async () => {
    const result = await readiness({
      pool: pool(server.url),
      catalog: labCatalog(emptyLabsDir, { reload: false }),
      migrationsDir,
    });
    expect(result.ready).toBe(false);
    expect(result.checks[2]).toEqual({ name: "catalog", ok: false, detail: "0 labs" });
  });
});
