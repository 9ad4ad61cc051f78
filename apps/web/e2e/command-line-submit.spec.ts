import { execFile } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "./fixtures.ts";

const labId = "concurrent-transfers";
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const labsCli = join(repoRoot, "apps/runner/src/cli/main.ts");
const run = promisify(execFile);

/** The `labs` CLI as a learner runs it; its exit code and output, whatever they are. */
async function labs(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [labsCli, ...args], {
    env: { ...process.env, ...env },
    timeout: 300_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

/**
 * A loopback proxy to the platform that cuts its first connection as soon as the platform starts to answer:
 * the request was handled, the answer is lost (a dropped connection). Later connections pass through.
 */
async function proxyLosingFirstAnswer(platform: string) {
  const target = new URL(platform);
  let connections = 0;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream);
    if (++connections === 1) upstream.once("data", () => client.destroy());
    else upstream.pipe(client);
  }).listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test("a token made on the account page lets `labs submit` grade a folder, through a lost answer, and the Run shows in the browser", async ({
  page,
  baseURL,
}) => {
  const folder = mkdtempSync(join(tmpdir(), "labs-submit-"));
  try {
    const email = `cli-${Date.now()}@example.com`;
    await page.goto("/sign-up");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("a long enough passphrase");
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.getByTestId("signed-in-as").click();
    await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
    await expect(page.getByText("You have no tokens.")).toBeVisible();
    await page.getByLabel("Token name").fill("laptop");
    await page.getByRole("button", { name: "Make a token" }).click();
    const token = (await page.getByTestId("new-token").locator("code").first().textContent())!;
    expect(token).toMatch(/^blt_/);
    await expect(page.getByTestId("api-tokens")).toContainText("laptop");

    // The learner's folder, as `labs start` writes it, with the lab solved.
    const started = await labs(["start", labId, folder, "--force"]);
    expect(started.code, started.stderr).toBe(0);
    cpSync(
      join(repoRoot, "labs/03-databases/concurrent-transfers/solution/src/bank.ts"),
      join(folder, "src/bank.ts"),
    );

    // The answer to the Run is lost on the way back: the CLI sends the same Run again, which queues nothing
    // twice (the history below holds one Run).
    await using proxy = await proxyLosingFirstAnswer(baseURL!);
    const submitted = await labs(["submit", folder, "--url", proxy.url, "--format", "json"], {
      BACKEND_LABS_TOKEN: token,
    });
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(proxy.connections()).toBeGreaterThan(1);
    const result = JSON.parse(submitted.stdout) as { status: string; tests: { test_code: string }[] };
    expect(result.status).toBe("pass");
    expect(result.tests.every((t) => t.test_code === "")).toBe(true);
    expect(submitted.stderr).toMatch(/submitted: http:\/\/.*\/submissions\//);

    // It is the learner's Run like any other: in the lab's history.
    await page.goto(`/labs/${labId}`);
    const history = page.getByTestId("submission-history").getByRole("button");
    await expect(history).toHaveCount(1);
    await expect(history.first()).toContainText("pass");

    // Revoked, the token no longer works, and the CLI says why.
    page.on("dialog", (dialog) => void dialog.accept());
    await page.goto("/account");
    await page.getByRole("button", { name: "Revoke laptop" }).click();
    await expect(page.getByText("You have no tokens.")).toBeVisible();
    const refused = await labs(["submit", folder, "--url", baseURL!], { BACKEND_LABS_TOKEN: token });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refused: This needs a valid API token/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
