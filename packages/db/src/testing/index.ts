export { configureTestcontainers } from "@backend-labs/service-containers";
export { startTestDatabase, testDatabaseLabel, type TestDatabase } from "./start-test-database.ts";
export { truncateAll } from "./truncate-all.ts";
