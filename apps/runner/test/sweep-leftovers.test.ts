import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { leftoversOfRunner, scratchFoldersOf } from "./support/leftovers.ts";
import { cliMain, fixtureLabsRoot } from "./support/paths.ts";

const run = promisify(execFile);
const env = { ...process.env, BACKEND_LABS_LABS_DIR: fixtureLabsRoot, NO_COLOR: "1" };

describe("a runner killed with SIGKILL mid-grade", () => {
  it("leaves leftovers that the next runner's start removes", { timeout: 240_000 }, async () => {
    const doomed = spawn(
      process.execPath,
      [cliMain, "grade", "sandbox-probe", join(fixtureLabsRoot, "06-security/sandbox-probe/starter")],
      { env, stdio: ["ignore", "ignore", "pipe"] },
    );
    const pid = doomed.pid!;
    let progress = "";
    doomed.stderr.setEncoding("utf8").on("data", (text: string) => (progress += text));
    // Mid-grade: its services are up and its learner container is starting.
    for (let waited = 0; !progress.includes("starting your code") && waited < 120_000; waited += 100)
      await sleep(100);
    expect(progress, "the grade never got as far as starting the learner's code").toContain(
      "starting your code",
    );
    doomed.kill("SIGKILL");
    await new Promise((resolve) => doomed.once("exit", resolve));

    const left = await leftoversOfRunner(pid);
    expect(
      left.containers,
      "a killed runner cannot tear down: its containers are still there",
    ).toBeGreaterThan(0);
    expect(left.networks).toBe(1);
    expect(scratchFoldersOf(pid)).toHaveLength(1);

    const { stderr } = await run(
      process.execPath,
      [cliMain, "grade", "text-tools", join(fixtureLabsRoot, "01-fundamentals/text-tools/solution")],
      { env },
    );
    expect(stderr).toMatch(/removed what runners that died left behind: \d+ container\(s\), 1 network\(s\)/);
    expect(await leftoversOfRunner(pid)).toEqual({ containers: 0, networks: 0 });
    expect(scratchFoldersOf(pid)).toEqual([]);
    expect(existsSync(join(tmpdir(), `backend-labs-runner-${pid}`))).toBe(false);
  });

  it(
    "holding a pool: its pooled environments are removed by the next runner's start",
    { timeout: 180_000 },
    async () => {
      // validate pools environments: the one grading, a spare started ahead, learner containers waiting in both.
      const doomed = spawn(process.execPath, [cliMain, "validate", "visit-counter"], {
        env,
        stdio: ["ignore", "ignore", "pipe"],
      });
      const pid = doomed.pid!;
      let progress = "";
      doomed.stderr.setEncoding("utf8").on("data", (text: string) => (progress += text));
      for (let waited = 0; !progress.includes("running tests") && waited < 90_000; waited += 100)
        await sleep(100);
      expect(progress, "validate never got as far as running tests").toContain("running tests");
      doomed.kill("SIGKILL");
      await new Promise((resolve) => doomed.once("exit", resolve));
      const left = await leftoversOfRunner(pid);
      expect(left.containers, "the pool's service and learner containers are still there").toBeGreaterThan(1);
      expect(left.networks).toBeGreaterThan(0);

      const { stderr } = await run(
        process.execPath,
        [cliMain, "grade", "text-tools", join(fixtureLabsRoot, "01-fundamentals/text-tools/solution")],
        { env },
      );
      expect(stderr).toMatch(
        /removed what runners that died left behind: [1-9]\d* container\(s\), [1-9]\d* network\(s\)/,
      );
      expect(await leftoversOfRunner(pid)).toEqual({ containers: 0, networks: 0 });
      expect(scratchFoldersOf(pid)).toEqual([]);
    },
  );
});
