export { configureTestcontainers } from "./configure-testcontainers.ts";
export { startTestDatabase, testDatabaseLabel, type TestDatabase } from "./start-test-database.ts";
export { truncateAll } from "./truncate-all.ts";
