// pnpm --filter @backend-labs/db migrate: applies prisma/migrations to DATABASE_URL.
import { applyMigrations } from "../apply-migrations.ts";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error("DATABASE_URL is not set: it names the Postgres database to migrate.");
  process.exit(2);
}

const { applied } = await applyMigrations(databaseUrl);
console.log(
  applied.length > 0 ? `Applied: ${applied.join(", ")}` : "Nothing to apply: the database is up to date.",
);
