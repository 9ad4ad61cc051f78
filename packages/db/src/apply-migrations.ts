import { openSchemaEngine } from "./schema-engine/open-schema-engine.ts";
import { readMigrationsFolder } from "./migrations/read-migrations-folder.ts";
import { migrationsDir as defaultMigrationsDir } from "./prisma-paths.ts";

/**
 * Applies the migrations in prisma/migrations that the database has not seen, the way
 * `prisma migrate deploy` does: under Prisma's advisory lock, recorded in _prisma_migrations, so a second
 * call is a no-op and the stock CLI agrees about what is applied. Needs no native engine and no Node flag.
 */
export async function applyMigrations(
  databaseUrl: string,
  options: { migrationsDir?: string } = {},
): Promise<{ applied: string[] }> {
  const migrations = await readMigrationsFolder(options.migrationsDir ?? defaultMigrationsDir);
  await using opened = await openSchemaEngine(databaseUrl);
  const { appliedMigrationNames } = await opened.engine.applyMigrations({
    migrationsList: migrations,
    filters: { externalTables: [], externalEnums: [] },
  });
  return { applied: appliedMigrationNames };
}
