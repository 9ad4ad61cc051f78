import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { discoverLabs, labFiles } from "@backend-labs/lab-format";
import { afterAll, describe, expect, it } from "vitest";
import { configureTestcontainers } from "@backend-labs/service-containers";
import { EnvironmentLostError, gradeSubmission } from "../src/grade/grade-submission.ts";
import { GradingRuntime } from "../src/grade/grading-runtime.ts";
import { readSubmissionDir } from "../src/grade/submission.ts";
import { formatRunner, thisRunner } from "../src/host/runner-identity.ts";
import { labelKeys } from "../src/services/resource-labels.ts";
import { leftoversOfRunner } from "./support/leftovers.ts";
import { fixtureLabsRoot, labsNodeModules } from "./support/paths.ts";

// Pooled environments serve grade after grade. The isolation-probe fixture lab's learner code leaves
// traces in Postgres, Redis and Kafka (rows, tables, keys, a Redis function, a topic, group offsets) and
// wrecks what the lab declared (it drops the seeded table, deletes the declared topic); its grader passes
// only if the grade saw none of an earlier grade's traces and found the declared state intact.
configureTestcontainers();
const lab = discoverLabs(fixtureLabsRoot).labs.find(
  (candidate) => candidate.manifest.id === "isolation-probe",
)!;
const submission = () => readSubmissionDir(join(lab.dir, labFiles.solution));

/**
 * The running Postgres container of one of this test process's grade environments (synchronous: usable
 * inside a progress listener). Only this runner's: another runner on the machine keeps its containers.
 */
function postgresContainerId(): string {
  const image = process.env.BACKEND_LABS_POSTGRES_IMAGE ?? "postgres:18";
  const ids = execFileSync(
    "docker",
    [
      "ps",
      "-q",
      "--filter",
      `label=${labelKeys.runner}=${formatRunner(thisRunner)}`,
      "--filter",
      `label=${labelKeys.environment}`,
      "--filter",
      `ancestor=${image}`,
    ],
    { encoding: "utf8" },
  ).trim();
  if (!ids) throw new Error("no Postgres container of a grade environment is running");
  return ids.split("\n")[0]!;
}

/** A pool of one environment with one waiting learner container: grade after grade reuses it. */
const onePooledEnvironment = () =>
  new GradingRuntime(labsNodeModules, { size: 1, minAvailableMemoryMb: 0, warmCopies: 1 });

afterAll(async () => {
  expect(await leftoversOfRunner(process.pid), "everything the runtimes started is gone").toEqual({
    containers: 0,
    networks: 0,
  });
});

describe("one pooled environment, grade after grade", () => {
  it(
    "each grade sees nothing an earlier grade left, even after it wrecked its services",
    { timeout: 240_000 },
    async () => {
      await using runtime = onePooledEnvironment();
      const pools: string[] = [];
      for (let grade = 1; grade <= 3; grade++) {
        const result = await gradeSubmission({ lab, submission: submission(), runtime });
        expect(result.status, `grade ${grade}: ${result.tests[0]?.message ?? result.message ?? ""}`).toBe(
          "pass",
        );
        pools.push(result.timings.pool ?? "?");
        await runtime.settled();
      }
      // One environment, started for the first grade and recycled for the next two.
      expect(pools).toEqual(["miss", "hit", "hit"]);
      expect(runtime.environments.stats()).toMatchObject({ idle: 1, busy: 0, hits: 2, misses: 1 });
    },
  );

  it(
    "a grade stopped by a type error hands its environment back ready: no learner code ran in it",
    { timeout: 240_000 },
    async () => {
      await using runtime = onePooledEnvironment();
      const broken = submission();
      const [path, source] = [...broken.files][0]!;
      broken.files.set(path, Buffer.from(`${source.toString("utf8")}\nconst notANumber: number = "x";\n`));
      const refused = await gradeSubmission({ lab, submission: broken, runtime });
      expect(refused.message).toMatch(/^Your code does not compile/);
      await runtime.settled();
      expect(runtime.environments.stats()).toMatchObject({ idle: 1, recycles: 0 });
      const result = await gradeSubmission({ lab, submission: submission(), runtime });
      expect(result.status, result.tests[0]?.message ?? result.message ?? "").toBe("pass");
      expect(result.timings.pool).toBe("hit");
      await runtime.settled();
      expect(runtime.environments.stats()).toMatchObject({ idle: 1, recycles: 1 });
    },
  );

  it(
    "an idle environment whose service died is replaced before a grade gets it",
    { timeout: 240_000 },
    async () => {
      await using runtime = onePooledEnvironment();
      await runtime.prewarm([lab], "docker");
      await runtime.settled();
      execFileSync("docker", ["rm", "-f", postgresContainerId()], { stdio: "ignore" });
      const result = await gradeSubmission({ lab, submission: submission(), runtime });
      expect(result.status, result.tests[0]?.message ?? result.message ?? "").toBe("pass");
      expect(result.timings.pool, "the broken environment was not handed out").toBe("miss");
    },
  );

  it(
    "a service that dies during a grade ends it as the runner's error, never as the learner's result",
    { timeout: 240_000 },
    async () => {
      await using runtime = onePooledEnvironment();
      let killed = false;
      const grading = gradeSubmission({
        lab,
        submission: submission(),
        runtime,
        onProgress: (event) => {
          if (event.type === "stage" && event.stage === "start" && !killed) {
            killed = true;
            // Synchronous, so the service is gone before the learner's code is started.
            execFileSync("docker", ["rm", "-f", postgresContainerId()], { stdio: "ignore" });
          }
        },
      });
      await expect(grading).rejects.toBeInstanceOf(EnvironmentLostError);
    },
  );
});

describe("memory pressure", () => {
  it(
    "starts nothing ahead of demand, lets idle environments go, and grades still pass",
    { timeout: 240_000 },
    async () => {
      await using runtime = new GradingRuntime(labsNodeModules, {
        size: 2,
        minAvailableMemoryMb: Number.MAX_SAFE_INTEGER,
        warmCopies: 1,
      });
      await runtime.prewarm([lab], "docker");
      await runtime.settled();
      expect(runtime.environments.stats().idle, "nothing started ahead of demand").toBe(0);
      const result = await gradeSubmission({ lab, submission: submission(), runtime });
      expect(result.status, result.tests[0]?.message ?? result.message ?? "").toBe("pass");
      expect(result.timings.pool).toBe("miss");
      await runtime.settled();
      // The recycled environment goes back to idle, then the memory watch removes it.
      for (let waited = 0; runtime.environments.stats().idle > 0 && waited < 15_000; waited += 250)
        await sleep(250);
      expect(runtime.environments.stats().idle).toBe(0);
    },
  );
});
