import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../src/apply-migrations.ts";
import { pendingMigrations } from "../src/pending-migrations.ts";
import { migrationsDir } from "../src/prisma-paths.ts";
import { startTestDatabase, type TestDatabase } from "../src/testing/index.ts";

let server: TestDatabase;
const scratch: string[] = [];

beforeAll(async () => {
  server = await startTestDatabase();
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A new empty database on the test server, so each test starts from nothing. */
async function freshDatabase(): Promise<string> {
  const name = `fresh_${Math.random().toString(36).slice(2, 10)}`;
  await query(server.url, `CREATE DATABASE ${name}`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}

async function query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function migrationsFolder(migrations: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "db-migrations-"));
  scratch.push(dir);
  await writeFile(path.join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
  for (const [name, sql] of Object.entries(migrations)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

describe("applyMigrations", () => {
  it("creates the schema in an empty database, then has nothing left to apply", async () => {
    const url = await freshDatabase();
    const folders = (await readdir(migrationsDir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();

    expect(await applyMigrations(url)).toEqual({ applied: folders });
    expect(await applyMigrations(url)).toEqual({ applied: [] });

    const tables = await query<{ tablename: string }>(
      url,
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    expect(tables.map((row) => row.tablename)).toEqual([
      "_prisma_migrations",
      "api_tokens",
      "drafts",
      "sessions",
      "sign_in_failures",
      "submission_events",
      "submissions",
      "users",
    ]);
    // Recorded the way `prisma migrate deploy` records them, so the stock CLI sees them as applied.
    const history = await query<{ migration_name: string; finished: boolean; rolled_back: boolean }>(
      url,
      `SELECT migration_name, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back
         FROM _prisma_migrations ORDER BY migration_name`,
    );
    expect(history).toEqual(
      folders.map((name) => ({ migration_name: name, finished: true, rolled_back: false })),
    );
  });

  it("sends a migration to Postgres whole, semicolons inside strings and function bodies included", async () => {
    const url = await freshDatabase();
    const dir = await migrationsFolder({
      "20260101000000_notify": `
        CREATE TABLE notes (body TEXT NOT NULL DEFAULT 'a; b');
        CREATE FUNCTION notes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('notes', NEW.body);
          RETURN NEW;
        END;
        $$;
        CREATE TRIGGER notes_notify AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION notes_notify();
      `,
    });

    expect(await applyMigrations(url, { migrationsDir: dir })).toEqual({
      applied: ["20260101000000_notify"],
    });
    await query(url, "INSERT INTO notes DEFAULT VALUES");
    expect(await query(url, "SELECT body FROM notes")).toEqual([{ body: "a; b" }]);
  });

  it("applies only the migrations added since the last run", async () => {
    const url = await freshDatabase();
    const first = { "20260101000000_one": "CREATE TABLE one (id INT);" };
    expect(await applyMigrations(url, { migrationsDir: await migrationsFolder(first) })).toEqual({
      applied: ["20260101000000_one"],
    });
    const both = { ...first, "20260102000000_two": "CREATE TABLE two (id INT);" };
    expect(await applyMigrations(url, { migrationsDir: await migrationsFolder(both) })).toEqual({
      applied: ["20260102000000_two"],
    });
  });

  it("fails with Postgres's message when a migration is broken, and applies none of it", async () => {
    const url = await freshDatabase();
    const dir = await migrationsFolder({
      "20260101000000_broken": "CREATE TABLE half (id INT);\nCREATE TABLE oops (id NO_SUCH_TYPE);",
    });

    await expect(applyMigrations(url, { migrationsDir: dir })).rejects.toThrow(/no_such_type/);
    const tables = await query(url, "SELECT 1 FROM pg_tables WHERE tablename = 'half'");
    expect(tables).toEqual([]);
  });
});

describe("pendingMigrations", () => {
  async function pending(url: string, migrationsDir: string): Promise<string[]> {
    const pool = new pg.Pool({ connectionString: url });
    try {
      return await pendingMigrations(pool, migrationsDir);
    } finally {
      await pool.end();
    }
  }

  it("lists every migration of a never-migrated database, then the ones added since, then none", async () => {
    const url = await freshDatabase();
    const first = { "20260101000000_one": "CREATE TABLE one (id INT);" };
    const both = { ...first, "20260102000000_two": "CREATE TABLE two (id INT);" };
    const firstDir = await migrationsFolder(first);
    const bothDir = await migrationsFolder(both);

    expect(await pending(url, bothDir)).toEqual(["20260101000000_one", "20260102000000_two"]);
    await applyMigrations(url, { migrationsDir: firstDir });
    expect(await pending(url, bothDir)).toEqual(["20260102000000_two"]);
    await applyMigrations(url, { migrationsDir: bothDir });
    expect(await pending(url, bothDir)).toEqual([]);
  });

  it("counts a migration that failed half-way as pending", async () => {
    const url = await freshDatabase();
    const dir = await migrationsFolder({ "20260101000000_broken": "CREATE TABLE oops (id NO_SUCH_TYPE);" });
    await expect(applyMigrations(url, { migrationsDir: dir })).rejects.toThrow(/no_such_type/);
    expect(await pending(url, dir)).toEqual(["20260101000000_broken"]);
  });
});
