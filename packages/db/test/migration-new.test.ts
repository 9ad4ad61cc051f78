import { copyFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../src/apply-migrations.ts";
import { startEmbeddedPostgres, type StartedEmbeddedPostgres } from "../src/embedded-postgres.ts";
import { diffMigrationsToSchema, hasStatements } from "../src/migrations/diff-migrations-to-schema.ts";
import { writeNextMigration } from "../src/migrations/write-next-migration.ts";
import { migrationsDir, schemaPath } from "../src/prisma-paths.ts";

let postgres: StartedEmbeddedPostgres;
let scratch: string;
let postgresDir: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "db-migration-new-"));
  // Its own folder under the temp dir: mkdtemp's 700 would keep the server's user out when tests run as root.
  postgresDir = await mkdtemp(path.join(tmpdir(), "db-migration-new-postgres-"));
  postgres = await startEmbeddedPostgres({ dataDir: postgresDir });
});
afterAll(async () => {
  await postgres.stop();
  await rm(scratch, { recursive: true, force: true });
  await rm(postgresDir, { recursive: true, force: true });
});

/** A copy of prisma/migrations, so a test can add to it. */
async function copyOfMigrations(): Promise<string> {
  const dir = path.join(scratch, `migrations-${Date.now()}`);
  await cp(migrationsDir, dir, { recursive: true });
  return dir;
}

async function committedMigrations(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

describe("the migration:new flow", () => {
  it("finds nothing to do when schema.prisma matches the committed migrations", async () => {
    const sql = await diffMigrationsToSchema({ serverUrl: postgres.url, migrationsDir, schemaPath });
    expect(hasStatements(sql)).toBe(false);
  });

  it("writes the next migration for a schema change, and it applies after the committed ones", async () => {
    const changedSchema = path.join(scratch, "schema.prisma");
    await copyFile(schemaPath, changedSchema);
    const schema = await readFile(changedSchema, "utf8");
    await writeFile(
      changedSchema,
      schema.replace(
        "  email        String       @unique\n",
        '  email        String       @unique\n  displayName  String?      @map("display_name")\n',
      ),
    );
    const migrations = await copyOfMigrations();

    const sql = await diffMigrationsToSchema({
      serverUrl: postgres.url,
      migrationsDir: migrations,
      schemaPath: changedSchema,
    });
    expect(sql).toContain('ALTER TABLE "users" ADD COLUMN     "display_name" TEXT;');

    const folder = await writeNextMigration({
      migrationsDir: migrations,
      name: "add_display_name",
      sql,
      now: new Date("2099-01-02T03:04:05Z"),
    });
    expect(path.basename(folder)).toBe("20990102030405_add_display_name");
    expect(await readFile(path.join(folder, "migration.sql"), "utf8")).toBe(sql);

    const { applied } = await applyMigrations(postgres.url, { migrationsDir: migrations });
    expect(applied).toEqual([...(await committedMigrations()).sort(), "20990102030405_add_display_name"]);
  });

  it("rejects a migration name that is not snake_case", async () => {
    await expect(writeNextMigration({ migrationsDir: scratch, name: "Add Column", sql: "" })).rejects.toThrow(
      /snake_case/,
    );
  });
});
