import { readdir } from "node:fs/promises";

interface Queryable {
  query(sql: string): Promise<{ rows: { migration_name: string }[] }>;
}

/**
 * The migrations in prisma/migrations the database has not finished applying, oldest first: what a
 * readiness check reports instead of serving a schema the code does not expect. A database that was never
 * migrated has none applied. The folder is a parameter: bundled into the web app, this package's own
 * location (prisma-paths.ts) is not known.
 */
export async function pendingMigrations(db: Queryable, migrationsDir: string): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const known = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const applied = await db
    .query(
      "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    )
    .then(
      ({ rows }) => new Set(rows.map((row) => row.migration_name)),
      (error: { code?: string }) => {
        if (error.code === "42P01") return new Set<string>(); // no _prisma_migrations: never migrated
        throw error;
      },
    );
  return known.filter((name) => !applied.has(name)).sort((a, b) => a.localeCompare(b));
}
