import { setTimeout as sleep } from "node:timers/promises";
import { claimNextJob, type ClaimedJob, JobWakeups } from "@backend-labs/grading-queue";
import Docker from "dockerode";
import pg from "pg";
import { labsNodeModules, labsRoot, loadCatalog } from "../catalog/labs-catalog.ts";
import { type SandboxKind } from "../environments/environment-shape.ts";
import { GradingRuntime, noPool, poolFor } from "../grade/grading-runtime.ts";
import { prepareRunner, sweepDeadRunners } from "../host/prepare-runner.ts";
import { assertDockerReachable } from "../host/docker-reachable.ts";
import { formatRunner, thisRunner } from "../host/runner-identity.ts";
import { gradeJob, type JobOutcome } from "./grade-job.ts";
import { serveWorkerHealth } from "./worker-health.ts";

/** How often a worker also sweeps for leftovers of dead runners, besides at start and after a reclaim. */
const sweepIntervalMs = 60_000;

/** How `labs worker` runs (parsed from its flags by cli/worker-options.ts). */
export interface WorkerOptions {
  databaseUrl: string;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  sandbox: SandboxKind;
  once: boolean;
  /** Keep environments warm between jobs (--no-pool turns it off). */
  pool: boolean;
  /** Start environments for every lab's shape at start (all), or only once a lab is graded (none). */
  prewarm: "all" | "none";
  /** Serve /healthz and /readyz on this port (0: any free one), on `healthHost`. */
  healthPort?: number;
  healthHost?: string;
}

export class DatabaseUnreachableError extends Error {
  constructor(cause: unknown) {
    super(`cannot reach the database given by DATABASE_URL/--database-url: ${(cause as Error).message}`, {
      cause,
    });
    this.name = "DatabaseUnreachableError";
  }
}

/**
 * `labs worker`: claims jobs from the queue and grades them, `concurrency` at a time, until `stop`
 * aborts (then running grades are torn down and their jobs released) or, with `once`, after one job.
 * Logs one line per job start and end on stderr, and one JSON line per job end on stdout.
 */
export async function runWorker(options: WorkerOptions, stop: AbortSignal): Promise<void> {
  const root = labsRoot();
  const sandbox = await prepareRunner(options.sandbox);
  const docker = await dockerIfReachable();
  const workerId = formatRunner(thisRunner);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

  // Named in pg_stat_activity, so an operator (or a test) can tell this worker's connections apart.
  const connection = { connectionString: options.databaseUrl, application_name: `labs worker ${workerId}` };
  const pool = new pg.Pool({ ...connection, max: options.concurrency * 2 + 2 });
  // An idle connection that breaks (database restart) must not crash the worker; the next query reconnects.
  // While stopping it is expected (Ctrl+C reaches a local database too), so not worth a scary line.
  pool.on("error", (error) => {
    if (!stop.aborted) log(`database connection lost: ${error.message}`);
  });
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end();
    throw new DatabaseUnreachableError(error);
  }
  const wakeups = new JobWakeups({
    connection,
    onError: (error) => log(`LISTEN connection lost, reconnecting: ${error.message}`),
  });
  await using runtime = new GradingRuntime(
    labsNodeModules(root),
    options.pool ? poolFor(options.concurrency) : noPool,
    log,
  );
  if (options.pool && options.prewarm === "all")
    void runtime.prewarm(loadCatalog(root).labs, sandbox).catch(() => undefined);
  const sweep = () =>
    sweepDeadRunners(docker).catch((error: unknown) => log(`sweep failed: ${(error as Error).message}`));
  const sweeper = setInterval(() => void sweep(), sweepIntervalMs);
  await using health =
    options.healthPort === undefined
      ? undefined
      : await serveWorkerHealth({
          port: options.healthPort,
          host: options.healthHost ?? "0.0.0.0",
          pool,
          sandbox,
        });
  if (health) log(`health: http://${options.healthHost ?? "0.0.0.0"}:${health.port}/healthz and /readyz`);
  log(
    `worker ${workerId}: concurrency ${options.concurrency}, lease ${options.leaseMs / 1000} s, ` +
      `sandbox ${sandbox}, pool ${options.pool ? "on" : "off"}${options.once ? ", one job" : ""}`,
  );

  const slot = async (): Promise<void> => {
    while (!stop.aborted) {
      const mark = wakeups.mark();
      let job: ClaimedJob | undefined;
      try {
        job = await claimNextJob(pool, { workerId, leaseMs: options.leaseMs });
      } catch (error) {
        log(`claiming failed (retrying): ${(error as Error).message}`);
      }
      if (!job) {
        await wakeups.wait(mark, options.pollMs, stop);
        continue;
      }
      // The job's last worker died holding it; if that was on this host, its containers are still here.
      if (job.attempt > 1) await sweep();
      const outcome = await runJob(job);
      if (options.once) return;
      // A problem of this machine (Docker gone...) would fail the next job too: pause before claiming.
      if (outcome?.kind === "retry-later")
        await sleep(options.pollMs, undefined, { signal: stop }).catch(() => {});
    }
  };

  const runJob = async (job: ClaimedJob): Promise<JobOutcome | undefined> => {
    const started = performance.now();
    log(`job ${job.id} ${job.labId} attempt ${job.attempt}: started`);
    let outcome: JobOutcome | undefined;
    try {
      outcome = await gradeJob(job, { labsRoot: root, runtime, sandbox, stop, log });
    } catch (error) {
      // The database failed while writing the outcome: the lease runs out and another claim retries.
      log(`job ${job.id}: could not write its outcome: ${(error as Error).message}`);
    }
    const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
    const ended = outcome?.kind === "finished" ? outcome.status : (outcome?.kind ?? "unwritten");
    const pool = outcome?.kind === "finished" && outcome.pool ? `, pool ${outcome.pool}` : "";
    log(`job ${job.id} ${job.labId} attempt ${job.attempt}: ${ended} (${seconds} s${pool})`);
    const line = {
      submissionId: job.id,
      labId: job.labId,
      attempt: job.attempt,
      outcome: outcome?.kind ?? "unwritten",
      ...(outcome?.kind === "finished" && {
        status: outcome.status,
        ...(outcome.pool && { pool: outcome.pool }),
      }),
      seconds,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    return outcome;
  };

  try {
    await Promise.all(Array.from({ length: options.concurrency }, slot));
  } finally {
    clearInterval(sweeper);
    await wakeups.close();
    await pool.end();
  }
  log(`worker ${workerId}: stopped`);
}

async function dockerIfReachable(): Promise<Docker | undefined> {
  try {
    await assertDockerReachable();
    return new Docker();
  } catch {
    return undefined;
  }
}
