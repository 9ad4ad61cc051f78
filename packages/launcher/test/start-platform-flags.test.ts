import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const launcher = fileURLToPath(new URL("../src/start-platform.ts", import.meta.url));

function start(...args: string[]) {
  return spawnSync(process.execPath, [launcher, ...args], { encoding: "utf8", timeout: 30_000 });
}

describe("pnpm start's flags", () => {
  it("prints its usage for --help and starts nothing", () => {
    const run = start("--help");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: pnpm start \[--port 3000\]/);
    expect(run.stderr).not.toMatch(/starting embedded Postgres/);
  });

  it.each([
    [["--port", "http"], '--port must be a port number, not "http"'],
    [["--port", "70000"], '--port must be a port number, not "70000"'],
    [["--workers", "17"], '--workers must be 0 to 16, not "17"'],
  ])("refuses %j with exit 2 before starting anything", (args, message) => {
    const run = start(...args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toMatch(/starting embedded Postgres/);
  });

  it("names an unknown flag", () => {
    const run = start("--wrokers", "2");
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("--wrokers");
  });
});
