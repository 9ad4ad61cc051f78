// pnpm bench (or node bench/run-to-result.ts [--runs 5] [--sustained 300] [--labs a,b] [--skip-sustained]):
// what a learner waits for after pressing Run, measured as in production: a real `labs worker` drains a
// real Postgres queue; each lab's reference solution is submitted one Run at a time. Times come from the
// database's clock: Run (submission created) -> first test result event, and -> finished.
//   1. per lab, with the pool (the default) and without it (--no-pool), side by side: the tests' own time
//      (the sum of the result's test durations), Run -> first test, Run -> final, and the ratios;
//   2. sustained: concurrent-transfers graded again and again through one pooled worker: grades per
//      minute, p50/p95 of Run -> final, failures, leftovers, and peak memory (worker RSS + its containers).
// Figures are printed; nothing here asserts a target (see the targets column).
import { type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startTestDatabase } from "@backend-labs/db/testing";
import { type GradeResult } from "@backend-labs/grade-result";
import { enqueueSubmission } from "@backend-labs/grading-queue";
import { discoverLabs, type Lab, treeSubmissionFiles } from "@backend-labs/lab-format";
import Docker from "dockerode";
import pg from "pg";
import { leftoversOfRunner } from "../test/support/leftovers.ts";
import { startWorkerProcess, stopWorker, waitForWorker } from "./support/worker-process.ts";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    sustained: { type: "string", default: "300" },
    labs: { type: "string" },
    "skip-sustained": { type: "boolean", default: false },
  },
});
const runs = Number(args.runs);
const labsRoot = fileURLToPath(new URL("../../../labs", import.meta.url));
const only = args.labs?.split(",");

const median = (values: number[]) => percentile(values, 0.5);
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padStart(8);

await using database = await startTestDatabase();
const pool = new pg.Pool({ connectionString: database.url, max: 2 });
const { rows } = await pool.query<{ id: string }>(
  "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'bench@example.com', 'x') RETURNING id",
);
const userId = rows[0]!.id;
const labs = discoverLabs(labsRoot).labs.filter((lab) => !only || only.includes(lab.manifest.id));

interface Timing {
  firstTestMs: number;
  finalMs: number;
  testsMs: number;
  status: string;
}

const perLab = new Map<string, { pooled: Timing[]; unpooled: Timing[] }>();
for (const mode of ["pooled", "unpooled"] as const) {
  const worker = startWorkerProcess(database.url, mode === "pooled" ? [] : ["--no-pool"]);
  try {
    await waitForWorker(worker);
    for (const lab of labs) {
      // One Run first, not counted: the pool has made this lab's environment and vitest instance by then.
      await runOnce(lab);
      const timings: Timing[] = [];
      for (let run = 0; run < runs; run++) timings.push(await runOnce(lab));
      const entry = perLab.get(lab.manifest.id) ?? { pooled: [], unpooled: [] };
      entry[mode] = timings;
      perLab.set(lab.manifest.id, entry);
      process.stderr.write(
        `[bench] ${mode} ${lab.manifest.id}: final ${s(median(timings.map((t) => t.finalMs)))}\n`,
      );
    }
  } finally {
    await stopWorker(worker);
  }
}

console.log(
  `\nRun -> result per lab, medians of ${runs} (one worker, real queue; "over" = final - tests' own time)`,
);
console.log(
  "lab                           tests   | pooled: first    final     over | no pool: first    final     over | final ratio",
);
const overheads: number[] = [];
const ratios: number[] = [];
for (const [id, { pooled, unpooled }] of perLab) {
  const tests = median(pooled.map((t) => t.testsMs));
  const pooledFinal = median(pooled.map((t) => t.finalMs));
  const unpooledFinal = median(unpooled.map((t) => t.finalMs));
  overheads.push(pooledFinal - tests);
  ratios.push(unpooledFinal / pooledFinal);
  const statuses = new Set([...pooled, ...unpooled].map((t) => t.status));
  console.log(
    `${id.padEnd(28)}${s(tests)} | ${s(median(pooled.map((t) => t.firstTestMs)))} ${s(pooledFinal)} ${s(pooledFinal - tests)} |` +
      `  ${s(median(unpooled.map((t) => t.firstTestMs)))} ${s(unpooledFinal)} ${s(unpooledFinal - median(unpooled.map((t) => t.testsMs)))} |` +
      `   ${(unpooledFinal / pooledFinal).toFixed(1)} x${statuses.size === 1 && statuses.has("pass") ? "" : `  (${[...statuses].join(",")})`}`,
  );
}
console.log(
  `median over the labs: overhead with pools ${s(median(overheads))} (target <= 0.60 s); no pool / pool ${median(ratios).toFixed(1)} x (target >= 3 x)`,
);

if (!args["skip-sustained"]) await sustained(Number(args.sustained));
await pool.end();

/** concurrent-transfers, one Run after another through one pooled worker. */
async function sustained(count: number): Promise<void> {
  const lab = discoverLabs(labsRoot).labs.find(
    (candidate) => candidate.manifest.id === "concurrent-transfers",
  )!;
  const worker = startWorkerProcess(database.url, []);
  const docker = new Docker();
  let peakMb = 0;
  const sampler = setInterval(() => {
    void memoryOf(worker, docker).then((mb) => (peakMb = Math.max(peakMb, mb)));
  }, 1000);
  const finals: number[] = [];
  let failures = 0;
  try {
    await waitForWorker(worker);
    await runOnce(lab);
    const started = performance.now();
    for (let run = 0; run < count; run++) {
      const timing = await runOnce(lab);
      finals.push(timing.finalMs);
      if (timing.status !== "pass") failures++;
      if ((run + 1) % 50 === 0) process.stderr.write(`[bench] sustained: ${run + 1}/${count}\n`);
    }
    const minutes = (performance.now() - started) / 60_000;
    clearInterval(sampler);
    await stopWorker(worker);
    const leftovers = await leftoversOfRunner(worker.pid!);
    console.log(
      `\nSustained: ${count} grades of concurrent-transfers through one worker (one Run in flight)`,
    );
    console.log(
      `  ${(count / minutes).toFixed(1)} grades/min (target >= 30); Run -> final p50 ${s(percentile(finals, 0.5))}, p95 ${s(percentile(finals, 0.95))}; ` +
        `failures ${failures}; leftovers ${leftovers.containers} containers, ${leftovers.networks} networks; ` +
        `peak memory ${peakMb.toFixed(0)} MB (worker RSS + its containers)`,
    );
  } finally {
    clearInterval(sampler);
    await stopWorker(worker);
  }
}

async function runOnce(lab: Lab): Promise<Timing> {
  const files = Object.fromEntries(treeSubmissionFiles(lab, "solution"));
  const { id } = await enqueueSubmission(pool, { userId, labId: lab.manifest.id, files });
  for (;;) {
    const { rows: found } = await pool.query<{
      first_test_ms: number | null;
      final_ms: number | null;
      status: string | null;
      result: GradeResult | null;
    }>(
      `SELECT (extract(epoch FROM (SELECT min(e.created_at) FROM submission_events e
                                   WHERE e.submission_id = s.id AND e.payload->>'type' = 'test') - s.created_at)
               * 1000)::float8 AS first_test_ms,
              (extract(epoch FROM s.finished_at - s.created_at) * 1000)::float8 AS final_ms,
              s.result_status::text AS status, s.result
         FROM submissions s WHERE s.id = $1`,
      [id],
    );
    const row = found[0];
    if (row?.final_ms != null) {
      return {
        firstTestMs: row.first_test_ms ?? row.final_ms,
        finalMs: row.final_ms,
        testsMs: (row.result?.tests ?? []).reduce((sum, test) => sum + test.duration_ms, 0),
        status: row.status ?? "?",
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The worker's resident memory plus what its containers use (cgroup v1 or v2), in MB. */
async function memoryOf(worker: ChildProcess, docker: Docker): Promise<number> {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${worker.pid}/status`, "utf8"))?.[1] ?? 0);
  const containers = await docker.listContainers({ filters: { label: ["dev.backend-labs.runner"] } });
  let containerBytes = 0;
  for (const container of containers) {
    if (!container.Labels["dev.backend-labs.runner"]?.includes(`:${worker.pid}:`)) continue;
    for (const file of [
      `/sys/fs/cgroup/memory/docker/${container.Id}/memory.usage_in_bytes`,
      `/sys/fs/cgroup/system.slice/docker-${container.Id}.scope/memory.current`,
    ]) {
      try {
        containerBytes += Number(readFileSync(file, "utf8"));
        break;
      } catch {
        // The other cgroup layout.
      }
    }
  }
  return rssKb / 1024 + containerBytes / 1024 / 1024;
}
