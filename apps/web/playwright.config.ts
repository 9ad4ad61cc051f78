import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 3107);
// A fresh embedded database per run, so every run starts from a new platform.
const dataDir = mkdtempSync(join(tmpdir(), "backend-labs-e2e-"));

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  timeout: 240_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    viewport: { width: 1440, height: 1000 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      // Debian's chromium: Playwright's own browser download is not reachable here (docs/web-app.md).
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // A request to any other host fails in the browser too, on top of the tests' own check.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
      ],
    },
  },
  webServer: {
    command: `node ../../packages/launcher/src/start-platform.ts --port ${port} --data-dir ${dataDir}`,
    url: `http://127.0.0.1:${port}/api/trpc/auth.me`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 30_000 },
    env: {
      BACKEND_LABS_RUNS_PER_MINUTE: "20",
      BACKEND_LABS_RUNS_IN_FLIGHT: "2",
      BACKEND_LABS_INSTRUCTOR_EMAILS: "teacher@example.com,auditor@example.com",
    },
  },
});
