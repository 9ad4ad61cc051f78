import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // Fixture labs' grader suites run only through the runner, inside a grade.
    exclude: ["test/fixtures/**", "**/node_modules/**"],
    // Grades start containers and processes; one file at a time keeps the 2-core CI machine honest.
    fileParallelism: false,
    testTimeout: 60_000,
    // Hooks start databases and services; on a busy 2-core machine that can take a while.
    hookTimeout: 120_000,
  },
});
