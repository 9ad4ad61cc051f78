export { configureTestcontainers } from "./configure-testcontainers.ts";
export { postgresContainer, type PostgresContainerSettings } from "./postgres-container.ts";
