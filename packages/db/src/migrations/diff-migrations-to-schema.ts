import { readFile } from "node:fs/promises";
import { openSchemaEngine } from "../schema-engine/open-schema-engine.ts";
import { readMigrationsFolder } from "./read-migrations-folder.ts";

/**
 * The SQL that takes a database from the state the migrations folder builds to the state schema.prisma
 * describes: what `prisma migrate diff --from-migrations --to-schema --script` prints. The engine replays
 * the migrations in a throwaway shadow database it creates on the server at serverUrl.
 */
export async function diffMigrationsToSchema(options: {
  serverUrl: string;
  migrationsDir: string;
  schemaPath: string;
}): Promise<string> {
  const schema = { path: options.schemaPath, content: await readFile(options.schemaPath, "utf8") };
  const migrations = await readMigrationsFolder(options.migrationsDir);
  await using opened = await openSchemaEngine(options.serverUrl, schema);
  const result = await opened.engine.diff({
    from: { tag: "migrations", ...migrations },
    to: { tag: "schemaDatamodel", files: [schema] },
    script: true,
    exitCode: null,
    filters: { externalTables: [], externalEnums: [] },
  });
  return result.stdout ?? "";
}

/** The engine answers "-- This is an empty migration." when nothing changed: only comments, no statements. */
export function hasStatements(sql: string): boolean {
  return sql.split("\n").some((line) => line.trim() !== "" && !line.trim().startsWith("--"));
}
