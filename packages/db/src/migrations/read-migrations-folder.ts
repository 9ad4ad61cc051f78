import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { MigrationList } from "@prisma/schema-engine-wasm";

export const lockfileName = "migration_lock.toml";
export const migrationFileName = "migration.sql";

/** The migrations folder as the schema engine expects it, read the way Prisma's CLI reads it. */
export async function readMigrationsFolder(migrationsDir: string): Promise<MigrationList> {
  const lockfileContent = await readFile(path.join(migrationsDir, lockfileName), "utf8").catch(() => null);
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: migrationFileName,
        content: await readFile(path.join(migrationsDir, name, migrationFileName), "utf8").then(
          (value) => ({ tag: "ok" as const, value }),
          (error: Error) => ({ tag: "error" as const, value: error.message }),
        ),
      },
    })),
  );
  return {
    baseDir: migrationsDir,
    lockfile: { path: lockfileName, content: lockfileContent },
    shadowDbInitScript: "",
    migrationDirectories,
  };
}
