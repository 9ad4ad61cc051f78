import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GradeResult } from "@backend-labs/grade-result";
import { discoverLabs, labFiles } from "@backend-labs/lab-format";
import { Redis } from "ioredis";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureTestcontainers } from "@backend-labs/service-containers";
import { gradeSubmission } from "../src/grade/grade-submission.ts";
import { GradingRuntime } from "../src/grade/grading-runtime.ts";
import { readSubmissionDir } from "../src/grade/submission.ts";
import { createGradeNetwork, type GradeNetwork } from "../src/services/grade-network.ts";
import { runnerScratchDir } from "../src/host/runner-scratch.ts";
import { serviceImage } from "../src/services/service-images.ts";
import { environmentLabels } from "../src/services/resource-labels.ts";
import { countLeftovers } from "./support/leftovers.ts";
import { adversarialRoot, fixtureLabsRoot, labsNodeModules } from "./support/paths.ts";

// The adversarial suite: hostile submissions (adversarial/<attack>/submission) against the sandbox-probe
// fixture lab, whose only test passes if the submission gets hold of a canary the sandbox must keep from
// it. Every attack must end as `fail` or `error` with the evidence its attack.json names, and leave
// nothing behind. docs/security.md maps each threat to its control and to the attack here.
configureTestcontainers();

interface Attack {
  threat: string;
  status: GradeResult["status"][];
  /** Regular expressions (multiline) the result's messages and the learner's output must match. */
  mentions: string[];
  mustNotMention?: string[];
}

const labs = discoverLabs(fixtureLabsRoot).labs;
const probeLab = labs.find((lab) => lab.manifest.id === "sandbox-probe")!;
const visitCounter = labs.find((lab) => lab.manifest.id === "visit-counter")!;
const attacks = readdirSync(adversarialRoot).map((name) => ({
  name,
  submissionDir: join(adversarialRoot, name, "submission"),
  attack: JSON.parse(readFileSync(join(adversarialRoot, name, "attack.json"), "utf8")) as Attack,
}));

const canary = randomBytes(16).toString("hex");
const canaryFile = join(tmpdir(), `backend-labs-canary-${canary.slice(0, 8)}.txt`);
const otherWorkspace = mkdtempSync(join(runnerScratchDir(), "grade-other-"));
const hostServer = createServer((_request, response) => response.end(canary));
let otherGrade: { network: GradeNetwork; redis: StartedTestContainer } | undefined;
// Without a pool each grade gets an environment of its own, named after the grade, so leftovers can be
// counted per grade. pooled-environments.test.ts runs hostile code on pooled environments.
const runtime = new GradingRuntime(labsNodeModules);

beforeAll(async () => {
  // Where the canary lives: the runner's environment, a host file, a socket on every host address,
  // another grade's workspace and another grade's Redis.
  process.env.BACKEND_LABS_CANARY = canary;
  writeFileSync(canaryFile, canary);
  process.env.BACKEND_LABS_CANARY_FILE = canaryFile;
  writeFileSync(join(otherWorkspace, "canary.txt"), canary);
  process.env.BACKEND_LABS_CANARY_WORKSPACE_FILE = join(otherWorkspace, "canary.txt");
  hostServer.listen(0, "0.0.0.0");
  await once(hostServer, "listening");
  process.env.BACKEND_LABS_CANARY_PORT = String((hostServer.address() as AddressInfo).port);

  const otherGradeId = randomUUID();
  const network = await createGradeNetwork(otherGradeId);
  const redis = await new GenericContainer(serviceImage("redis"))
    .withCommand(["redis-server", "--protected-mode", "no", "--save", ""])
    .withNetworkMode(network.name)
    .withLabels(environmentLabels(otherGradeId))
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  otherGrade = { network, redis };
  const address = `${redis.getIpAddress(network.name)}:6379`;
  const client = new Redis(`redis://${address}`);
  await client.set("canary", canary);
  client.disconnect();
  process.env.BACKEND_LABS_CANARY_REDIS = address;
}, 60_000);

afterAll(async () => {
  await runtime[Symbol.asyncDispose]();
  await otherGrade?.redis.stop({ remove: true, timeout: 0 });
  await otherGrade?.network[Symbol.asyncDispose]();
  hostServer.close();
  rmSync(canaryFile, { force: true });
  rmSync(otherWorkspace, { recursive: true, force: true });
  for (const name of ["", "_FILE", "_WORKSPACE_FILE", "_PORT", "_REDIS"])
    delete process.env[`BACKEND_LABS_CANARY${name}`];
});

async function gradeAttack(submissionDir: string, gradeId = randomUUID()): Promise<GradeResult> {
  return gradeSubmission({
    lab: probeLab,
    submission: readSubmissionDir(submissionDir),
    runtime,
    gradeId,
    sandbox: "docker",
  });
}

/** Everything a reader of the result sees: the grade's message, each test's message and output. */
function evidence(result: GradeResult): string {
  return [
    result.message ?? "",
    ...result.tests.flatMap((test) => [test.message ?? "", test.output ?? ""]),
  ].join("\n");
}

describe.each(attacks)("attack $name", ({ submissionDir, attack }) => {
  it(
    `${attack.threat}: ends as ${attack.status.join(" or ")}, never pass, and leaves nothing behind`,
    {
      timeout: 120_000,
    },
    async () => {
      const gradeId = randomUUID();
      const result = await gradeAttack(submissionDir, gradeId);
      const seen = evidence(result);
      expect(attack.status, `status ${result.status}: ${seen.slice(0, 800)}`).toContain(result.status);
      for (const pattern of attack.mentions) expect(seen).toMatch(new RegExp(pattern, "m"));
      for (const text of attack.mustNotMention ?? []) expect(seen).not.toContain(text);
      expect(seen).not.toContain(canary);
      // The teardown runs after the result is handed back.
      await runtime.settled();
      expect(await countLeftovers(gradeId)).toEqual({ containers: 0, networks: 0, processes: 0 });
    },
  );
});

describe("hostile grades next to an honest one", () => {
  it(
    "a fork bomb, a 4 GB allocation and spinning CPUs leave a concurrent grade unaffected",
    {
      timeout: 180_000,
    },
    async () => {
      const hostile = ["fork-bomb", "allocate-4gb", "spin-cpus"].map((name) =>
        gradeAttack(join(adversarialRoot, name, "submission")),
      );
      const honest = gradeSubmission({
        lab: visitCounter,
        submission: readSubmissionDir(join(visitCounter.dir, labFiles.solution)),
        runtime,
        sandbox: "docker",
      });
      const [results, honestResult] = await Promise.all([Promise.all(hostile), honest]);
      expect(honestResult.status, evidence(honestResult)).toBe("pass");
      for (const result of results) expect(result.status).not.toBe("pass");
    },
  );
});
