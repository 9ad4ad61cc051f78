import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  applyMutantPatch,
  discoverLabs,
  type Lab,
  mutantSubmissionFiles,
  treeSubmissionFiles,
} from "@backend-labs/lab-format";
import { describe, expect, it } from "vitest";
import { configureTestcontainers } from "@backend-labs/service-containers";
import { gradeSubmission } from "../src/grade/grade-submission.ts";
import { GradingRuntime } from "../src/grade/grading-runtime.ts";
import { readSubmissionDir, type Submission, submissionFromTexts } from "../src/grade/submission.ts";
import { countLeftovers } from "./support/leftovers.ts";
import { normalizeResult } from "./support/normalize-result.ts";
import { fixtureLabsRoot, goldenRoot, repoLabsRoot } from "./support/paths.ts";

// Golden tests: golden/<lab-id>/<expected status>/<cause>/ holds expected.json, the normalised result, and
// the submission: a submission/ folder; or submission.patch, a unified diff against the lab's solution (so
// fixtures do not copy whole solutions, as the labs' own mutants); or, for the causes "solution",
// "starter" and "mutant-<id>", the lab's own files.
// UPDATE_GOLDEN=1 rewrites expected.json from the current behaviour; review the diff before committing.
configureTestcontainers();
const labs = new Map<string, Lab>(
  [...discoverLabs(fixtureLabsRoot).labs, ...discoverLabs(repoLabsRoot).labs].map((lab) => [
    lab.manifest.id,
    lab,
  ]),
);
const cases = readdirSync(goldenRoot).flatMap((labId) =>
  readdirSync(join(goldenRoot, labId)).flatMap((status) =>
    readdirSync(join(goldenRoot, labId, status)).map((cause) => ({
      labId,
      status,
      cause,
      dir: join(goldenRoot, labId, status, cause),
    })),
  ),
);

describe.each(cases)("$labId $status/$cause", ({ labId, status, cause, dir }) => {
  it("grades to the expected result and leaves nothing behind", { timeout: 180_000 }, async () => {
    const lab = labs.get(labId);
    if (!lab) throw new Error(`golden folder ${labId} names no lab`);

    // Each labs root (the catalog, the runner's fixtures) is a package whose node_modules learner code uses.
    await using runtime = new GradingRuntime(join(dirname(dirname(lab.dir)), "node_modules"));
    const gradeId = randomUUID();
    const result = await gradeSubmission({
      lab,
      submission: goldenSubmission(lab, cause, dir),
      runtime,
      gradeId,
    });
    // The teardown runs after the result is handed back.
    await runtime.settled();

    expect(result.status, result.message ?? "").toBe(status);
    const expectedPath = join(dir, "expected.json");
    const actual = normalizeResult(result);
    if (process.env.UPDATE_GOLDEN === "1")
      writeFileSync(expectedPath, `${JSON.stringify(actual, null, 2)}\n`);
    if (!existsSync(expectedPath))
      throw new Error(`${expectedPath} is missing: run with UPDATE_GOLDEN=1 and review it`);
    expect(actual).toEqual(JSON.parse(readFileSync(expectedPath, "utf8")));
    expect(await countLeftovers(gradeId)).toEqual({ containers: 0, networks: 0, processes: 0 });
  });
});

function goldenSubmission(lab: Lab, cause: string, dir: string): Submission {
  if (existsSync(join(dir, "submission"))) return readSubmissionDir(join(dir, "submission"));
  const mutant = lab.manifest.mutants.find((candidate) => `mutant-${candidate.id}` === cause);
  if (mutant) return submissionFromTexts(mutantSubmissionFiles(lab, mutant));
  if (existsSync(join(dir, "submission.patch"))) {
    const patch = readFileSync(join(dir, "submission.patch"), "utf8");
    return submissionFromTexts(applyMutantPatch(treeSubmissionFiles(lab, "solution"), patch, dir));
  }
  return readSubmissionDir(join(lab.dir, cause));
}
