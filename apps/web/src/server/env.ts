import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";

const serverEnvSchema = z.object({
  DATABASE_URL: z
    .string({ error: "is not set: point it at the platform's Postgres (`pnpm start` sets it for you)" })
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL"),
  BACKEND_LABS_LABS_DIR: z.string().min(1).optional(),
  /** The platform's migrations (prisma/migrations of @backend-labs/db), for /readyz. */
  BACKEND_LABS_MIGRATIONS_DIR: z.string().min(1).optional(),
  /** Runs a learner may start per minute. */
  BACKEND_LABS_RUNS_PER_MINUTE: z.coerce.number().int().min(1).max(1000).default(6),
  /** Runs of one learner that may wait or run at once. */
  BACKEND_LABS_RUNS_IN_FLIGHT: z.coerce.number().int().min(1).max(100).default(2),
  BACKEND_LABS_SESSION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Comma-separated emails whose accounts are instructors (given the role when they sign up or in). */
  BACKEND_LABS_INSTRUCTOR_EMAILS: z
    .string()
    .default("")
    .transform(
      (list) =>
        new Set(
          list
            .split(",")
            .map((email) => email.trim().toLowerCase())
            .filter(Boolean),
        ),
    ),
  /** "true" forces Secure cookies even when the request looks like plain http (e.g. behind a TLS proxy). */
  BACKEND_LABS_SECURE_COOKIES: z.enum(["true", "false"]).optional(),
  /** When set, /metrics wants `Authorization: Bearer <it>` (Prometheus's bearer_token). */
  BACKEND_LABS_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
});

export type ServerEnv = z.output<typeof serverEnvSchema> & { labsDir: string; migrationsDir: string };

export class InvalidEnvironmentError extends Error {
  override name = "InvalidEnvironmentError";
}

/** Parses and checks the server's environment; throws one error naming every bad variable. */
export function parseServerEnv(env: Record<string, string | undefined> = process.env): ServerEnv {
  const parsed = serverEnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new InvalidEnvironmentError(`the web app's environment is not valid:\n${lines.join("\n")}`);
  }
  const labsDir = resolve(
    parsed.data.BACKEND_LABS_LABS_DIR ?? findInAncestors(process.cwd(), "labs", "lab.schema.json"),
  );
  if (!existsSync(labsDir)) {
    throw new InvalidEnvironmentError(`BACKEND_LABS_LABS_DIR: no labs folder at ${labsDir}`);
  }
  const migrationsDir = resolve(
    parsed.data.BACKEND_LABS_MIGRATIONS_DIR ??
      findInAncestors(process.cwd(), "packages/db/prisma/migrations", "migration_lock.toml"),
  );
  if (!existsSync(migrationsDir)) {
    throw new InvalidEnvironmentError(
      `BACKEND_LABS_MIGRATIONS_DIR: no migrations folder at ${migrationsDir}`,
    );
  }
  return { ...parsed.data, labsDir, migrationsDir };
}

let cached: ServerEnv | undefined;

/** The validated environment, parsed once (instrumentation.ts parses it at start, so errors show there). */
export function serverEnv(): ServerEnv {
  cached ??= parseServerEnv();
  return cached;
}

/** A folder of the repository (`folder`, holding `marker`) in the nearest ancestor of `from` that has it. */
function findInAncestors(from: string, folder: string, marker: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, folder);
    if (existsSync(join(candidate, marker))) return candidate;
    if (dirname(dir) === dir) return join(from, folder);
  }
}
