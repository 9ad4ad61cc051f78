// pnpm --filter @backend-labs/web bench: what the lab page makes a browser download, by kind.
// Starts the platform (no workers, a throwaway embedded database), opens a lab page in Debian's chromium,
// waits until the editor, its web workers (Monaco's TypeScript service) and the type declarations are
// there, and sums the responses: JavaScript (page and workers), type declarations, the rest.
// Sizes: as transferred (compressed) and decoded.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "@playwright/test";
import { waitForHttp } from "@backend-labs/launcher/wait-for-http";

const labId = process.argv[2] ?? "concurrent-transfers";
const port = 3190;
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), "backend-labs-bench-"));
const platform = spawn(
  process.execPath,
  [
    fileURLToPath(import.meta.resolve("@backend-labs/launcher/start-platform")),
    "--port",
    String(port),
    "--workers",
    "0",
    "--data-dir",
    dataDir,
  ],
  { stdio: ["ignore", "ignore", "inherit"] },
);
try {
  await waitForHttp(`${base}/api/trpc/auth.me`, 300_000);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  const page = await browser.newPage();
  const sizes = new Map<string, { transferred: number; decoded: number; count: number }>();
  const pending: Promise<void>[] = [];
  const record = (kind: string, transferred: number, decoded: number) => {
    const entry = sizes.get(kind) ?? { transferred: 0, decoded: 0, count: 0 };
    sizes.set(kind, {
      transferred: entry.transferred + transferred,
      decoded: entry.decoded + decoded,
      count: entry.count + 1,
    });
  };
  const kindOf = (url: string, type: string) =>
    url.includes("/types") ? "type declarations" : /javascript/.test(type) ? "JavaScript" : "other";
  page.on("response", (response) => {
    pending.push(
      (async () => {
        const body = await response.body().catch(() => Buffer.alloc(0));
        const { responseBodySize } = await response.request().sizes();
        const type = response.headers()["content-type"] ?? "";
        record(kindOf(response.url(), type), responseBodySize, body.length);
      })(),
    );
  });
  const started = performance.now();
  await page.goto(`${base}/labs/${labId}`);
  await page.locator(".monaco-editor").first().waitFor({ timeout: 60_000 });
  const editorMs = performance.now() - started;
  await page
    .waitForResponse((response) => response.url().includes(`/api/labs/${labId}/types`), { timeout: 60_000 })
    .catch(() => undefined);
  // Quiet for 2 s: every lazy chunk and worker the editor wanted has arrived.
  for (let seen = -1; seen !== pending.length;) {
    seen = pending.length;
    await page.waitForTimeout(2_000);
  }
  await Promise.all(pending);
  await browser.close();
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`.padStart(10);
  console.log(`lab page /labs/${labId}: editor visible after ${(editorMs / 1000).toFixed(2)} s`);
  console.log("kind                  files  transferred     decoded");
  let total = { transferred: 0, decoded: 0, count: 0 };
  for (const [kind, entry] of [...sizes].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(
      `${kind.padEnd(20)}${String(entry.count).padStart(7)}  ${kb(entry.transferred)}  ${kb(entry.decoded)}`,
    );
    total = {
      transferred: total.transferred + entry.transferred,
      decoded: total.decoded + entry.decoded,
      count: total.count + entry.count,
    };
  }
  console.log(
    `${"total".padEnd(20)}${String(total.count).padStart(7)}  ${kb(total.transferred)}  ${kb(total.decoded)}`,
  );
} finally {
  platform.kill("SIGTERM");
  await new Promise((resolve) => platform.once("exit", resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
