import { defineConfig } from "vitest/config";

// Only the catalog's own checks: grader suites run through the runner (`pnpm labs validate`), never here.
export default defineConfig({ test: { include: ["scripts/**/*.test.ts"] } });
