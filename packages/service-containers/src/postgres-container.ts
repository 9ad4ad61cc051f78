import { GenericContainer, Wait } from "testcontainers";

export interface PostgresContainerSettings {
  image: string;
  user: string;
  password: string;
  database: string;
}

/**
 * A Postgres container through the official image's interface (postgres:<n> or a stand-in with the same
 * one), tuned for throwaway data: durability buys nothing there and costs time on every commit. Ready once
 * it has logged "ready to accept connections" twice: once from the temporary server that runs the init
 * scripts, then from the real one.
 */
export function postgresContainer({
  image,
  user,
  password,
  database,
}: PostgresContainerSettings): GenericContainer {
  return new GenericContainer(image)
    .withEnvironment({ POSTGRES_USER: user, POSTGRES_PASSWORD: password, POSTGRES_DB: database })
    .withCommand([
      "postgres",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
    ])
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withStartupTimeout(60_000);
}
