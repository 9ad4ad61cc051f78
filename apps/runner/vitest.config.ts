import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // Grades start containers and processes; one file at a time keeps the 2-core CI machine honest.
    fileParallelism: false,
    testTimeout: 60_000,
  },
});
