// pnpm --filter @backend-labs/db migration:new <name>
// Writes the next migration: the SQL from what prisma/migrations builds to what schema.prisma says.
// It needs no database and no Prisma native engine: the shadow database lives in a throwaway embedded Postgres.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../embedded-postgres.ts";
import { diffMigrationsToSchema, hasStatements } from "../migrations/diff-migrations-to-schema.ts";
import { ensureMigrationLock, writeNextMigration } from "../migrations/write-next-migration.ts";
import { migrationsDir, schemaPath } from "../prisma-paths.ts";

const name = process.argv[2];
if (!name) {
  console.error("Usage: pnpm --filter @backend-labs/db migration:new <snake_case_name>");
  process.exit(2);
}

await ensureMigrationLock(migrationsDir);
const dataDir = await mkdtemp(path.join(os.tmpdir(), "backend-labs-migration-"));
const postgres = await startEmbeddedPostgres({ dataDir });
try {
  const sql = await diffMigrationsToSchema({ serverUrl: postgres.url, migrationsDir, schemaPath });
  if (!hasStatements(sql)) {
    console.log("schema.prisma matches the migrations folder: no migration written.");
  } else {
    const folder = await writeNextMigration({ migrationsDir, name, sql });
    console.log(`Wrote ${path.relative(process.cwd(), path.join(folder, "migration.sql"))}`);
  }
} finally {
  await postgres.stop();
  await rm(dataDir, { recursive: true, force: true });
}
