// pnpm bench: how long grading a lab's reference solution takes, per lab.
//   cold: a fresh `labs grade` process each time (Node start, TypeScript and vitest loading included)
//   warm: repeated grades inside one process, after one warm-up grade, in the Docker sandbox (the default)
//   process: the same, with the process sandbox: the difference is what the sandbox's controls cost
// Services are started fresh for every grade either way. Prints medians of N runs (BENCH_RUNS, default 5).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { discoverLabs, labFiles } from "@backend-labs/lab-format";
import { configureTestcontainers } from "../src/cli/configure-testcontainers.ts";
import { gradeSubmission, type SandboxKind } from "../src/grade/grade-submission.ts";
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
console.log(
  `lab                         cold median   warm median   (provision / run)   process sandbox   controls cost   (runs: ${runs})`,
);
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
  const warm = await warmGrades(lab, solution, "docker");
  const unsandboxed = await warmGrades(lab, solution, "process");
  const warmTotal = median(warm.map((w) => w.total));
  const processTotal = median(unsandboxed.map((w) => w.total));
  console.log(
    `${lab.manifest.id.padEnd(28)}${seconds(median(cold)).padStart(8)} s    ${seconds(warmTotal).padStart(8)} s    ` +
      `(${seconds(median(warm.map((w) => w.provision)))} s / ${seconds(median(warm.map((w) => w.run)))} s)`.padEnd(
        20,
      ) +
      `${seconds(processTotal).padStart(8)} s    ${seconds(warmTotal - processTotal).padStart(8)} s`,
  );
}

async function warmGrades(
  lab: (typeof labs)[number],
  solution: string,
  sandbox: SandboxKind,
): Promise<{ total: number; provision: number; run: number }[]> {
  const timings: { total: number; provision: number; run: number }[] = [];
  for (let run = 0; run <= runs; run++) {
    const result = await gradeSubmission({
      lab,
      submission: readSubmissionDir(solution),
      labsNodeModules: join(labsRoot, "node_modules"),
      sandbox,
    });
    if (result.status !== "pass")
      throw new Error(`${lab.manifest.id} solution did not pass (${sandbox}): ${result.message ?? ""}`);
    if (run > 0)
      timings.push({
        total: result.timings.total_ms,
        provision: result.timings.provision_ms,
        run: result.timings.run_ms,
      });
  }
  return timings;
}
