import { randomBytes } from "node:crypto";
import { configureTestcontainers, postgresContainer } from "@backend-labs/service-containers";
import { applyMigrations } from "../apply-migrations.ts";

export interface TestDatabase {
  /** postgres://…/backend_labs with every migration applied. */
  url: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Every container started here carries it: with Ryuk off, `docker rm -f $(docker ps -aq --filter label=…)` sweeps leftovers. */
export const testDatabaseLabel = "backend-labs.test-database";

/**
 * A real, migrated Postgres in a container, for one test file: `await using db = await startTestDatabase()`.
 * The image is BACKEND_LABS_POSTGRES_IMAGE (a local stand-in with the official image's interface) or postgres:18.
 */
export async function startTestDatabase(): Promise<TestDatabase> {
  configureTestcontainers();
  const image = process.env.BACKEND_LABS_POSTGRES_IMAGE ?? "postgres:18";
  const password = randomBytes(12).toString("hex");
  const container = await postgresContainer({ image, user: "postgres", password, database: "backend_labs" })
    .withExposedPorts(5432)
    .withLabels({ [testDatabaseLabel]: "true" })
    .start();
  const stop = () => container.stop({ remove: true, removeVolumes: true, timeout: 0 }).then(() => undefined);
  const url = `postgres://postgres:${password}@${container.getHost()}:${container.getMappedPort(5432)}/backend_labs`;
  try {
    await applyMigrations(url);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, [Symbol.asyncDispose]: stop };
}
