import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
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

  it(
    "resumes a stopped run of the same files from its journal, without the grades the stop cut short, and starts over when the files change",
    { timeout: 600_000 },
    async () => {
      const dir = join(scratch, "text-tools-resumed");
      const journalDir = join(scratch, "journal");
      cpSync(join(fixtureLabsRoot, "01-fundamentals/text-tools"), dir, { recursive: true });
      await using runtime = new GradingRuntime(labsNodeModules);
      const options = { sandbox: "process", jobs: 1, journalDir } as const;

      // Ctrl+C after 3 mutants, with a second grade still in flight: torn down, it must not be recorded.
      const stop = new AbortController();
      let judgedBeforeStop = 0;
      await expect(
        mutateLab(loadLab(dir), runtime, {
          ...options,
          jobs: 2,
          stopped: stop.signal,
          onMutant: () => {
            if (++judgedBeforeStop === 3) stop.abort();
          },
        }),
      ).rejects.toThrow();

      let resumed: { count: number; total: number; file: string } | undefined;
      let graded = 0;
      const report = await mutateLab(loadLab(dir), runtime, {
        ...options,
        onResume: (count, total, file) => (resumed = { count, total, file }),
        onMutant: () => graded++,
      });
      expect(resumed?.count).toBe(3);
      expect(resumed?.total).toBe(report.mutants.length);
      expect(graded).toBe(report.mutants.length - 3);
      expect(report.mutants.every((mutant) => mutant !== undefined)).toBe(true);
      expect(existsSync(resumed!.file)).toBe(false); // a finished run leaves nothing to resume

      // Interrupted again, then the grader changes: nothing judged against the old grader is reused.
      await expect(
        mutateLab(loadLab(dir), runtime, { ...options, onMutant: interruptedAfter(2) }),
      ).rejects.toThrow("interrupted");
      appendFileSync(join(dir, "grader/text.test.ts"), "\n// sharpened\n");
      // onResume would come before any grade: one judged mutant is enough to know it did not.
      let resumedAfterEdit = false;
      await expect(
        mutateLab(loadLab(dir), runtime, {
          ...options,
          onResume: () => (resumedAfterEdit = true),
          onMutant: interruptedAfter(1),
        }),
      ).rejects.toThrow("interrupted");
      expect(resumedAfterEdit).toBe(false);
    },
  );

  it(
    "keeps its journal until the report is stored, so a report that could not be written resumes whole",
    {
      timeout: 300_000,
    },
    async () => {
      const dir = join(scratch, "text-tools-unwritable-report");
      cpSync(join(fixtureLabsRoot, "01-fundamentals/text-tools"), dir, { recursive: true });
      await using runtime = new GradingRuntime(labsNodeModules);
      const options = {
        sandbox: "process",
        jobs: 2,
        journalDir: join(scratch, "unwritable-journal"),
      } as const;
      await expect(
        mutateLab(loadLab(dir), runtime, {
          ...options,
          keep: () => {
            throw new Error("ENOSPC: no space left on device");
          },
        }),
      ).rejects.toThrow("ENOSPC");

      let resumed = 0;
      let graded = 0;
      const report = await mutateLab(loadLab(dir), runtime, {
        ...options,
        onResume: (count) => (resumed = count),
        onMutant: () => graded++,
      });
      expect(resumed).toBe(report.mutants.length);
      expect(graded).toBe(0);
    },
  );

  it(
    "grades a timed-out mutant again, and counts the time-out only when it happens twice",
    { timeout: 300_000 },
    async () => {
      const dir = join(scratch, "text-tools-slow-moment");
      cpSync(join(fixtureLabsRoot, "01-fundamentals/text-tools"), dir, { recursive: true });
      // The suite's second run (the first mutant's grade, after the baseline) meets a loaded machine: its
      // first test's call times out. Every other run of that test passes.
      const runs = join(scratch, "slow-moment-runs");
      const grader = join(dir, "grader/text.test.ts");
      writeFileSync(
        grader,
        readFileSync(grader, "utf8").replace(
          'task(1, "Slugify a title", () => {',
          `task(1, "Slugify a title", () => {
  it("answers while the machine is busy", async () => {
    const { existsSync, readFileSync, writeFileSync } = await import("node:fs");
    const run = (existsSync(${JSON.stringify(runs)}) ? Number(readFileSync(${JSON.stringify(runs)}, "utf8")) : 0) + 1;
    writeFileSync(${JSON.stringify(runs)}, String(run));
    if (run === 2) throw Object.assign(new Error("slugify did not answer within 2 s"), { name: "LearnerTimeoutError" });
  });
`,
        ),
      );
      await using runtime = new GradingRuntime(labsNodeModules);
      const report = await mutateLab(loadLab(dir), runtime, {
        sandbox: "process",
        jobs: 1,
        journalDir: join(scratch, "slow-moment-journal"),
      });
      // The time-out happened, and the mutant it hit got the status of its second grade instead.
      expect(Number(readFileSync(runs, "utf8"))).toBeGreaterThan(2);
      expect(report.mutants.filter((mutant) => mutant.status === "timeout")).toEqual([]);
      expect(report.summary.killed).toBeGreaterThan(0);
    },
  );
});

/** An onMutant that stops the run, as Ctrl+C would, once that many mutants are judged. */
function interruptedAfter(count: number): () => void {
  let judged = 0;
  return () => {
    if (++judged === count) throw new Error("interrupted");
  };
}
