// pnpm --filter @backend-labs/runner bench:killed-workers
//   (node bench/killed-workers.ts [--submissions 40] [--kills 20] [--workers 2] [--lab concurrent-transfers]
//    [--lease-seconds 5])
// Chaos figures for the grading queue (issue 13): a lab's reference solution is submitted --submissions
// times and drained by --workers real `labs worker` processes, while one worker caught in the middle of a
// grade (provisioning and type-checking, starting the learner's code, or running the tests, in turn) is killed
// with SIGKILL --kills times and replaced, as an orchestrator would. Then it prints:
//   - jobs finished, lost (never finished) and their results (each is the solution: anything but pass is a
//     wrong result);
//   - how long the queue took to drain, and claims per job;
//   - overlapping grades: events a superseded claim wrote after a newer claim of the same job (the lease
//     fencing must keep this 0), and jobs with more than one `finished`;
//   - leftovers of the killed workers (containers, networks, scratch folders), before and after the sweep
//     that a starting runner does.
// A job on its last allowed claim is never the one killed, so every job ends with a real grade rather than
// "interrupted 3 times". Figures are printed; nothing here asserts.
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startTestDatabase } from "@backend-labs/db/testing";
import { defaultMaxAttempts, enqueueSubmission } from "@backend-labs/grading-queue";
import { discoverLabs, treeSubmissionFiles } from "@backend-labs/lab-format";
import Docker from "dockerode";
import pg from "pg";
import { parseRunner } from "../src/host/runner-identity.ts";
import { sweepLeftovers } from "../src/host/sweep-leftovers.ts";
import { leftoversOfRunner } from "../test/support/leftovers.ts";
import {
  startWorkerProcess,
  stopWorker,
  waitForWorker,
  type WorkerProcess,
} from "./support/worker-process.ts";

const { values: args } = parseArgs({
  options: {
    submissions: { type: "string", default: "40" },
    kills: { type: "string", default: "20" },
    workers: { type: "string", default: "2" },
    lab: { type: "string", default: "concurrent-transfers" },
    "lease-seconds": { type: "string", default: "5" },
  },
});
const submissionCount = Number(args.submissions);
const killTarget = Number(args.kills);
const workerCount = Number(args.workers);
const workerArgs = ["--concurrency", "1", "--lease-seconds", args["lease-seconds"]];
const labsRoot = fileURLToPath(new URL("../../../labs", import.meta.url));
const lab = discoverLabs(labsRoot).labs.find((candidate) => candidate.manifest.id === args.lab);
if (!lab) throw new Error(`no lab "${args.lab}"`);

await using database = await startTestDatabase();
const pool = new pg.Pool({ connectionString: database.url, max: 3 });
const { rows: users } = await pool.query<{ id: string }>(
  "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'chaos@example.com', 'x') RETURNING id",
);
const files = Object.fromEntries(treeSubmissionFiles(lab, "solution"));
const ids: string[] = [];
for (let index = 0; index < submissionCount; index++)
  ids.push((await enqueueSubmission(pool, { userId: users[0]!.id, labId: lab.manifest.id, files })).id);

const started = performance.now();
const everyWorker: WorkerProcess[] = [];
const live = new Set<WorkerProcess>();
async function addWorker(): Promise<void> {
  const worker = startWorkerProcess(database.url, workerArgs);
  everyWorker.push(worker);
  live.add(worker);
  await waitForWorker(worker);
}
await Promise.all(Array.from({ length: workerCount }, addWorker));

// Each kill aims at the next of these stages in turn, so every part of a grade gets interrupted; a stage
// no job reaches within 20 s gives way to whatever a grade is doing. ("typecheck" covers provisioning:
// both run at once, and the provision event is followed at once by the typecheck one.)
const targetStages = ["typecheck", "start", "run"] as const;
const killedPids: number[] = [];
const killedAtStage: string[] = [];
let aimingSince = performance.now();
while (killedPids.length < killTarget && (await unfinished()) > 0) {
  const target = targetStages[killedPids.length % targetStages.length]!;
  const victim = await jobInTheMiddleOfAGrade(performance.now() - aimingSince < 20_000 ? target : undefined);
  if (!victim) {
    await sleep(100);
    continue;
  }
  await sleep(Math.random() * 500);
  const worker = [...live].find((candidate) => candidate.pid === victim.pid);
  // Meanwhile the worker may have finished that job and claimed another, perhaps on its last claim.
  if (!worker || worker.exitCode !== null || !(await stillGrading(victim))) continue;
  worker.kill("SIGKILL");
  live.delete(worker);
  killedPids.push(victim.pid);
  killedAtStage.push(await lastStageOf(victim.jobId));
  process.stderr.write(
    `[chaos] kill ${killedPids.length}/${killTarget}: worker ${victim.pid} during ${killedAtStage.at(-1)}\n`,
  );
  await addWorker();
  aimingSince = performance.now();
}
const deadline = performance.now() + 40 * 60_000;
while ((await unfinished()) > 0 && performance.now() < deadline) await sleep(500);
const drainedSeconds = (performance.now() - started) / 1000;
await Promise.all([...live].map(stopWorker));

// Leftovers of the killed workers: what a runner's start-up sweep exists to remove.
const docker = new Docker();
const leftovers = async () => {
  let containers = 0;
  let networks = 0;
  for (const pid of killedPids) {
    const found = await leftoversOfRunner(pid);
    containers += found.containers;
    networks += found.networks;
  }
  const folders = readdirSync(tmpdir()).filter((name) =>
    killedPids.some((pid) => name.startsWith(`backend-labs-runner-${pid}-`)),
  ).length;
  return { containers, networks, folders };
};
const beforeSweep = await leftovers();
await sweepLeftovers(docker);
const afterSweep = await leftovers();

const { rows: jobs } = await pool.query<{
  state: string;
  result_status: string | null;
  attempts: number;
  problem: string | null;
}>(
  // Why a result is not a pass: its message (a time-out, an interrupted grade) or its first failing test's.
  `SELECT state::text, result_status::text, attempts,
          coalesce(result->>'message',
                   (SELECT t->>'name' || ': ' || coalesce(t->>'message', '') FROM jsonb_array_elements(result->'tests') t
                     WHERE t->>'status' <> 'pass' LIMIT 1)) AS problem
     FROM submissions WHERE id = ANY($1)`,
  [ids],
);
const { rows: overlaps } = await pool.query<{ stale_writes: number; double_finishes: number }>(
  `SELECT (SELECT count(*) FROM (
             SELECT attempt, max(attempt) OVER (PARTITION BY submission_id ORDER BY id
                                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newest_before
               FROM submission_events WHERE submission_id = ANY($1)) AS e
           WHERE e.attempt < e.newest_before)::int AS stale_writes,
          (SELECT count(*) FROM (
             SELECT submission_id FROM submission_events
              WHERE submission_id = ANY($1) AND payload->>'type' = 'finished'
              GROUP BY submission_id HAVING count(*) > 1) AS f)::int AS double_finishes`,
  [ids],
);
await pool.end();

const count = (predicate: (job: (typeof jobs)[number]) => boolean) => jobs.filter(predicate).length;
/** "error: 1, pass: 19": each value with how often it occurs, sorted by value. */
const tally = (values: (string | number)[]) =>
  tallyBy(values.map(String).sort())
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([value, times]) => `${value}: ${times}`)
    .join(", ");
console.log(
  `\nKilled workers: ${submissionCount} Runs of ${lab.manifest.id}'s solution, ${workerCount} workers ` +
    `(lease ${args["lease-seconds"]} s), ${killedPids.length} kill -9 mid-grade`,
);
console.log(
  `  drained in            ${drainedSeconds.toFixed(0)} s (${everyWorker.length} worker processes)`,
);
console.log(`  killed during         ${tally(killedAtStage)}`);
console.log(
  `  finished / lost       ${count((job) => job.state === "finished")} / ${count((job) => job.state !== "finished")}`,
);
console.log(
  `  results               ${tally(jobs.map((job) => job.result_status ?? "none"))} (all should pass)`,
);
console.log(
  `  claims per job        ${tally(jobs.map((job) => job.attempts))} (at most ${defaultMaxAttempts})`,
);
console.log(
  `  overlapping grades    ${overlaps[0]!.stale_writes} stale writes, ${overlaps[0]!.double_finishes} jobs finished twice`,
);
for (const [problem, times] of tallyBy(
  jobs
    .filter((job) => job.result_status !== "pass")
    .map((job) => (job.problem ?? "?").split("\n")[0]!.slice(0, 160)),
))
  console.log(`    ${times} x ${problem}`);
console.log(
  `  killed workers' leftovers: before the sweep ${JSON.stringify(beforeSweep)}, after ${JSON.stringify(afterSweep)}`,
);

function tallyBy(values: string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].sort(([, a], [, b]) => b - a);
}

async function unfinished(): Promise<number> {
  const { rows } = await pool.query<{ open: number }>(
    "SELECT count(*)::int AS open FROM submissions WHERE id = ANY($1) AND state <> 'finished'",
    [ids],
  );
  return rows[0]!.open;
}

/**
 * A job in the middle of a grade (in `stage`, or in any stage) that may still be killed, and its worker's
 * pid.
 */
async function jobInTheMiddleOfAGrade(
  stage: string | undefined,
): Promise<{ jobId: string; workerId: string; pid: number } | undefined> {
  const { rows } = await pool.query<{ id: string; worker_id: string }>(
    `SELECT s.id, s.worker_id FROM submissions s,
            LATERAL (SELECT e.payload->>'stage' AS stage FROM submission_events e
                      WHERE e.submission_id = s.id AND e.attempt = s.attempts AND e.payload->>'type' = 'stage'
                      ORDER BY e.id DESC LIMIT 1) AS latest
      WHERE s.id = ANY($1) AND s.state = 'running' AND s.attempts < $2
        AND ($3::text IS NULL OR latest.stage = $3)
      ORDER BY random() LIMIT 1`,
    [ids, defaultMaxAttempts, stage ?? null],
  );
  const runner = rows[0] && parseRunner(rows[0].worker_id);
  return runner && { jobId: rows[0]!.id, workerId: rows[0]!.worker_id, pid: runner.pid };
}

async function stillGrading({ jobId, workerId }: { jobId: string; workerId: string }): Promise<boolean> {
  const { rows } = await pool.query(
    "SELECT 1 FROM submissions WHERE id = $1 AND state = 'running' AND worker_id = $2 AND attempts < $3",
    [jobId, workerId, defaultMaxAttempts],
  );
  return rows.length > 0;
}

async function lastStageOf(jobId: string): Promise<string> {
  const { rows } = await pool.query<{ stage: string | null }>(
    `SELECT payload->>'stage' AS stage FROM submission_events
      WHERE submission_id = $1 AND payload->>'type' = 'stage' ORDER BY id DESC LIMIT 1`,
    [jobId],
  );
  return rows[0]?.stage ?? "claim";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
