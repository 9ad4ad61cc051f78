// pnpm bench: how long grading a lab's reference solution takes, per lab.
//   cold: a fresh `labs grade` process each time (Node start, TypeScript and vitest loading included)
//   warm: repeated grades inside one process, after one warm-up grade
// Services are started fresh for every grade either way. Prints medians of N runs (BENCH_RUNS, default 5).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { discoverLabs, labFiles } from "@backend-labs/lab-format";
import { configureTestcontainers } from "../src/cli/configure-testcontainers.ts";
import { gradeSubmission } from "../src/grade/grade-submission.ts";
import { readSubmissionDir } from "../src/grade/submission.ts";

configureTestcontainers();
const labsRoot = fileURLToPath(new URL("../../../labs", import.meta.url));
const cliMain = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const only = process.argv.slice(2);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const seconds = (ms: number) => (ms / 1000).toFixed(2);

const labs = discoverLabs(labsRoot).labs.filter((lab) => only.length === 0 || only.includes(lab.manifest.id));
console.log(`lab                         cold median   warm median   (runs: ${runs}; warm provision / run)`);
for (const lab of labs) {
  const solution = join(lab.dir, labFiles.solution);
  const cold: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    execFileSync(process.execPath, [cliMain, "grade", lab.manifest.id, solution, "--format", "json"], {
      stdio: "ignore",
    });
    cold.push(performance.now() - started);
  }
  const warm: { total: number; provision: number; run: number }[] = [];
  for (let run = 0; run <= runs; run++) {
    const result = await gradeSubmission({
      lab,
      submission: readSubmissionDir(solution),
      labsNodeModules: join(labsRoot, "node_modules"),
    });
    if (result.status !== "pass")
      throw new Error(`${lab.manifest.id} solution did not pass: ${result.message ?? ""}`);
    if (run > 0)
      warm.push({
        total: result.timings.total_ms,
        provision: result.timings.provision_ms,
        run: result.timings.run_ms,
      });
  }
  console.log(
    `${lab.manifest.id.padEnd(28)}${seconds(median(cold)).padStart(8)} s    ${seconds(median(warm.map((w) => w.total))).padStart(8)} s    ` +
      `(${seconds(median(warm.map((w) => w.provision)))} s / ${seconds(median(warm.map((w) => w.run)))} s)`,
  );
}
