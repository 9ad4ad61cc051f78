import { join } from "node:path";
import { discoverLabs, treeSubmissionFiles } from "@backend-labs/lab-format";
import { configureTestcontainers } from "@backend-labs/service-containers";
import { describe, expect, it } from "vitest";
import { gradeSubmission } from "../src/grade/grade-submission.ts";
import { GradingRuntime } from "../src/grade/grading-runtime.ts";
import { submissionFromTexts } from "../src/grade/submission.ts";
import { repoLabsRoot } from "./support/paths.ts";

configureTestcontainers();
const lab = discoverLabs(repoLabsRoot).labs.find(
  (candidate) => candidate.manifest.id === "middleware-pipeline",
)!;

describe("a warm grader suite", () => {
  it(
    "reports only the tests of this grade: a run that stops at its first failure shows none of an earlier grade's",
    { timeout: 180_000 },
    async () => {
      expect(lab.graderFiles.length).toBeGreaterThan(1);
      await using runtime = new GradingRuntime(join(repoLabsRoot, "node_modules"));
      const solved = await gradeSubmission({
        lab,
        submission: submissionFromTexts(treeSubmissionFiles(lab, "solution")),
        runtime,
      });
      expect(solved.status).toBe("pass");

      // The same warm vitest, the starter, stopping at the first failing test (as validate and mutate do).
      const stopped = await gradeSubmission({
        lab,
        submission: submissionFromTexts(treeSubmissionFiles(lab, "starter")),
        runtime,
        suite: { bail: true },
      });
      expect(stopped.status).toBe("fail");
      // Nothing runs after the first failure, so it is the last test of this grade. Results of an earlier
      // grade's later files (all passes) would come after it.
      const statuses = stopped.tests.map((test) => test.status);
      expect(statuses.filter((status) => status !== "pass")).toHaveLength(1);
      expect(statuses.at(-1)).not.toBe("pass");
      expect(stopped.tests.length).toBeLessThan(solved.tests.length);
      await runtime.settled();
    },
  );
});
