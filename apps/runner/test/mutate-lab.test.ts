import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labInputsHash, loadLab } from "@backend-labs/lab-format";
import { afterAll, describe, expect, it } from "vitest";
import { GradingRuntime } from "../src/grade/grading-runtime.ts";
import { mutationEngine } from "../src/mutation/generate-mutants.ts";
import { mutateLab } from "../src/mutation/mutate-lab.ts";
import { fixtureLabsRoot, labsNodeModules } from "./support/paths.ts";

const scratch = mkdtempSync(join(tmpdir(), "mutate-lab-test-"));
// Grader files import the labs' libraries from the node_modules above them.
symlinkSync(labsNodeModules, join(scratch, "node_modules"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("labs mutate", () => {
  it(
    "reports the lab as it was when the run started, so an edit during the run leaves the report stale",
    { timeout: 300_000 },
    async () => {
      const dir = join(scratch, "text-tools");
      cpSync(join(fixtureLabsRoot, "01-fundamentals/text-tools"), dir, { recursive: true });
      const lab = loadLab(dir);
      const atStart = labInputsHash(lab, mutationEngine);
      await using runtime = new GradingRuntime(labsNodeModules);
      let edited = false;
      const report = await mutateLab(lab, runtime, {
        sandbox: "process",
        jobs: 1,
        onMutant: () => {
          if (edited) return;
          // An author sharpening the grader while the run goes on: the mutants graded so far never saw it.
          appendFileSync(join(dir, "grader/text.test.ts"), "\n// sharpened during the run\n");
          edited = true;
        },
      });
      expect(edited).toBe(true);
      expect(report.inputs).toBe(atStart);
      expect(labInputsHash(lab, mutationEngine)).not.toBe(report.inputs);
    },
  );
});
