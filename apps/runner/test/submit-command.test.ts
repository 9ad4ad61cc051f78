import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labs as runLabs } from "./support/run-labs-cli.ts";

// The happy path (a token from the account page, a Run in the learner's history) runs against the real
// platform in apps/web/e2e/command-line-submit.spec.ts; these are the refusals that need no platform.
const folder = mkdtempSync(join(tmpdir(), "labs-submit-test-"));
// No token or address from the environment this test runs in.
const labs = (args: string[], env: Record<string, string> = {}) =>
  runLabs(args, { BACKEND_LABS_TOKEN: "", ...env });

/** A loopback port nothing listens on: taken from the kernel, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  expect((await labs(["start", "text-tools", folder])).code).toBe(0);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe("labs submit", () => {
  it("says where to get a token when BACKEND_LABS_TOKEN is not set", async () => {
    const { code, stderr } = await labs(["submit", folder, "--url", "https://labs.example.edu"]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      "set BACKEND_LABS_TOKEN to a token made on your account page (https://labs.example.edu/account)",
    );
  });

  it("refuses an address that is not http(s), and a missing one", async () => {
    const env = { BACKEND_LABS_TOKEN: "blt_x", BACKEND_LABS_URL: "" };
    const ftp = await labs(["submit", folder, "--url", "ftp://labs.example.edu"], env);
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain('--url must be an http(s) address, not "ftp://labs.example.edu"');
    const none = await labs(["submit", folder], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--url <address> or BACKEND_LABS_URL");
  });

  it("names the platform it could not reach, with exit 2", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { code, stderr } = await labs(["submit", folder, "--url", url], { BACKEND_LABS_TOKEN: "blt_x" });
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`could not reach ${url} \\(ECONNREFUSED\\): check --url`));
  });
});
