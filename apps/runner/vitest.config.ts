import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // Fixture labs' grader suites run only through the runner, inside a grade.
    exclude: ["test/fixtures/**", "**/node_modules/**"],
    // Two files at a time: a grade waits on containers and processes as much as it computes, so two
    // overlap well on the 2-core CI machine; every test scopes what it checks (leftovers, sweeps) to its
    // own grade or runner process, so files never see each other's work.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    // Hooks start databases and services; on a busy 2-core machine that can take a while.
    hookTimeout: 120_000,
  },
});
