import { randomBytes } from "node:crypto";
import { GenericContainer, Wait } from "testcontainers";
import { applyMigrations } from "../apply-migrations.ts";
import { configureTestcontainers } from "./configure-testcontainers.ts";

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
  const container = await new GenericContainer(image)
    .withEnvironment({ POSTGRES_USER: "postgres", POSTGRES_PASSWORD: password, POSTGRES_DB: "backend_labs" })
    // Durability buys nothing in a throwaway database and costs time on every commit.
    .withCommand([
      "postgres",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
    ])
    .withExposedPorts(5432)
    // Printed once by the temporary server that runs the init scripts, then by the real one.
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withLabels({ [testDatabaseLabel]: "true" })
    .withStartupTimeout(60_000)
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
