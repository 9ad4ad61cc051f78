import { type ChildProcessByStdio, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { type Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { startTestDatabase, type TestDatabase } from "@backend-labs/db/testing";
import {
  cancelSubmission,
  enqueueSubmission,
  getSubmission,
  listEvents,
  type StoredGradingEvent,
} from "@backend-labs/grading-queue";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { leftoversOfRunner, scratchFoldersOf } from "./support/leftovers.ts";
import { cliMain, fixtureLabsRoot } from "./support/paths.ts";

const run = promisify(execFile);

/**
 * text-tools' solution, slowed down: each slugify call blocks for 1.2 s (under the lab's 2 s call
 * timeout), so a grade spends seconds in its run stage, where a test can kill the worker mid-grade.
 */
const slowSolution = `export function slugify(title: string): string {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1200);
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

export function wordCount(text: string): number {
  return text.split(/\\s+/).filter(Boolean).length;
}
`;

let database: TestDatabase;
let pool: pg.Pool;
let userId: string;

beforeAll(async () => {
  database = await startTestDatabase();
  pool = new pg.Pool({ connectionString: database.url });
  userId = randomUUID();
  await pool.query(`INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x')`, [
    userId,
    `${userId}@example.test`,
  ]);
});

afterAll(async () => {
  await pool?.end();
  await database?.[Symbol.asyncDispose]();
});

beforeEach(async () => {
  await pool.query("TRUNCATE submissions CASCADE");
});

interface Worker {
  process: ChildProcessByStdio<null, Readable, Readable>;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** A real `labs worker` process against the test database, grading the fixture labs in Docker. */
function startWorker(args: string[] = []): Worker {
  const child = spawn(
    process.execPath,
    // Environments are pooled once a lab is graded; starting one for every fixture lab is not under test.
    [cliMain, "worker", "--lease-seconds", "4", "--poll-seconds", "0.5", "--prewarm", "none", ...args],
    {
      env: {
        ...process.env,
        BACKEND_LABS_LABS_DIR: fixtureLabsRoot,
        DATABASE_URL: database.url,
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  return {
    process: child,
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
}

/** Polls until `found` returns something, failing with `what` after `ms`. */
async function eventually<T>(what: string, found: () => Promise<T | undefined> | T | undefined, ms = 90_000) {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(100)) {
    const value = await found();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ready = (worker: Worker) =>
  eventually(`worker ${worker.pid} to start`, () =>
    worker.stderr().includes("concurrency") ? true : undefined,
  );

function eventOf(events: StoredGradingEvent[], type: string, attempt: number) {
  return events.find((stored) => stored.event.type === type && stored.attempt === attempt);
}

const pidOf = (workerId: string) => Number(workerId.split(":").at(-2));

/** Queues the slow solution once the worker is up; resolves with its id once its first test ran. */
async function slowGradeUnderWay(worker: Worker): Promise<string> {
  await ready(worker);
  const { id } = await enqueueSubmission(pool, {
    userId,
    labId: "text-tools",
    files: { "src/text.ts": slowSolution },
  });
  await eventually("the first test", async () => eventOf(await listEvents(pool, id), "test", 1));
  return id;
}

describe("labs worker", () => {
  it(
    "finishes a job whose worker was killed mid-grade, on another worker once the lease expired",
    { timeout: 180_000 },
    async () => {
      const workers = [startWorker(), startWorker()];
      try {
        await Promise.all(workers.map(ready));
        const { id } = await enqueueSubmission(pool, {
          userId,
          labId: "text-tools",
          files: { "src/text.ts": slowSolution },
        });

        // Mid-grade: the first test has finished, the learner's container is up.
        const firstTest = await eventually("the first attempt's first test", async () =>
          eventOf(await listEvents(pool, id), "test", 1),
        );
        const claimed = eventOf(await listEvents(pool, id), "claimed", 1)!;
        expect(firstTest).toBeDefined();
        const doomed = workers.find(
          (worker) => worker.pid === pidOf((claimed.event as { workerId: string }).workerId),
        )!;
        const survivor = workers.find((worker) => worker !== doomed)!;
        doomed.process.kill("SIGKILL");
        await doomed.exited;
        // Its last renewal may still be in flight: read its lease once the database has let go of it.
        await eventually("the killed worker's connections to close", async () => {
          const { rowCount } = await pool.query(
            `SELECT 1 FROM pg_stat_activity WHERE application_name LIKE $1`,
            [`labs worker %:${doomed.pid}:%`],
          );
          return rowCount === 0 ? true : undefined;
        });
        const deadLease = (await getSubmission(pool, id))!;
        expect(deadLease).toMatchObject({ state: "running", attempts: 1 });
        expect(
          (await leftoversOfRunner(doomed.pid)).containers,
          "a worker killed mid-grade leaves its learner container behind",
        ).toBeGreaterThan(0);

        const finished = await eventually("the job to finish", async () => {
          const row = await getSubmission(pool, id);
          return row?.state === "finished" ? row : undefined;
        });
        expect(finished).toMatchObject({ attempts: 2, resultStatus: "pass" });
        expect(finished.result).toMatchObject({ status: "pass", lab_id: "text-tools" });
        expect(finished.result!.tests.map((test) => test.status)).toEqual(["pass", "pass", "pass", "pass"]);

        const events = await listEvents(pool, id);
        const reclaimed = eventOf(events, "claimed", 2)!;
        expect(pidOf((reclaimed.event as { workerId: string }).workerId)).toBe(survivor.pid);
        // The claims never overlapped: the second began only after the first one's lease had run out.
        expect(reclaimed.createdAt.getTime()).toBeGreaterThanOrEqual(deadLease.leaseExpiresAt!.getTime());
        expect(eventOf(events, "retrying", 1)).toBeDefined();
        expect(events.at(-1)?.event).toEqual({ type: "finished", status: "pass" });
        // The second attempt's progress is all there, in order, with the tests' task ids.
        const secondAttempt = events.filter((stored) => stored.attempt === 2).map((stored) => stored.event);
        expect(secondAttempt.filter((event) => event.type === "stage").map((event) => event.stage)).toEqual([
          "validate",
          "workspace",
          "typecheck",
          "start",
          "run",
        ]);
        expect(secondAttempt.filter((event) => event.type === "test").map((event) => event.taskId)).toEqual([
          1, 1, 2, 2,
        ]);

        // The survivor swept what the killed worker left: its container, network and scratch folder.
        expect(await leftoversOfRunner(doomed.pid)).toEqual({ containers: 0, networks: 0 });
        expect(scratchFoldersOf(doomed.pid)).toEqual([]);
        expect(survivor.stderr()).toMatch(/removed what runners that died left behind: [1-9]\d* container/);
        expect(survivor.stderr()).toMatch(
          new RegExp(`job ${id} text-tools attempt 2: pass \\(\\d+(\\.\\d)? s, pool (hit|miss)\\)`),
        );
        expect(JSON.parse(survivor.stdout().trim())).toMatchObject({
          submissionId: id,
          attempt: 2,
          outcome: "finished",
          status: "pass",
        });

        survivor.process.kill("SIGTERM");
        expect(await survivor.exited).toBe(0);
        expect(await leftoversOfRunner(survivor.pid)).toEqual({ containers: 0, networks: 0 });
      } finally {
        for (const worker of workers) worker.process.kill("SIGKILL");
      }
    },
  );

  it(
    "on SIGTERM mid-grade tears down, puts the job back in the queue and exits 0",
    { timeout: 120_000 },
    async () => {
      const worker = startWorker();
      try {
        const id = await slowGradeUnderWay(worker);
        worker.process.kill("SIGTERM");
        expect(await worker.exited).toBe(0);

        expect(await getSubmission(pool, id)).toMatchObject({ state: "queued", attempts: 0, workerId: null });
        const events = await listEvents(pool, id);
        expect(events.at(-1)?.event).toMatchObject({ type: "retrying" });
        expect(JSON.parse(worker.stdout().trim())).toMatchObject({ submissionId: id, outcome: "released" });
        expect(await leftoversOfRunner(worker.pid)).toEqual({ containers: 0, networks: 0 });
      } finally {
        worker.process.kill("SIGKILL");
      }
    },
  );

  it(
    "stops a grade its learner cancelled at the next lease renewal, tears it down and writes nothing",
    { timeout: 120_000 },
    async () => {
      const worker = startWorker();
      try {
        const id = await slowGradeUnderWay(worker);
        expect(await cancelSubmission(pool, id, userId)).toBe(true);

        const outcome = await eventually(
          "the worker's outcome line",
          () => worker.stdout().trim() || undefined,
        );
        expect(JSON.parse(outcome)).toMatchObject({ submissionId: id, outcome: "cancelled" });
        expect(await getSubmission(pool, id)).toMatchObject({ state: "cancelled", result: null });
        expect((await listEvents(pool, id)).at(-1)?.event).toEqual({ type: "cancelled" });
        // The worker keeps warm services for its next grade; once it stops, nothing of the grade is left.
        worker.process.kill("SIGTERM");
        expect(await worker.exited).toBe(0);
        expect(await leftoversOfRunner(worker.pid)).toEqual({ containers: 0, networks: 0 });
      } finally {
        worker.process.kill("SIGKILL");
      }
    },
  );

  it(
    "serves /healthz and /readyz (the database and Docker answer) on --health-port",
    { timeout: 60_000 },
    async () => {
      const worker = startWorker(["--health-port", "0", "--health-host", "127.0.0.1"]);
      try {
        const port = await eventually(
          "the health address",
          () => /health: http:\/\/127\.0\.0\.1:(\d+)\//.exec(worker.stderr())?.[1],
        );
        const alive = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(alive.status).toBe(200);
        expect(await alive.json()).toEqual({ status: "alive" });
        const readiness = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(readiness.status).toBe(200);
        expect(await readiness.json()).toEqual({
          ready: true,
          checks: [
            { name: "database", ok: true, detail: "answers" },
            { name: "docker", ok: true, detail: "answers" },
          ],
        });
        expect((await fetch(`http://127.0.0.1:${port}/elsewhere`)).status).toBe(404);
        worker.process.kill("SIGTERM");
        expect(await worker.exited).toBe(0);
        await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
      } finally {
        worker.process.kill("SIGKILL");
      }
    },
  );

  it(
    "with --once finishes a job for an unknown lab as an error result, then exits",
    { timeout: 60_000 },
    async () => {
      const { id } = await enqueueSubmission(pool, { userId, labId: "no-such-lab", files: {} });
      const worker = startWorker(["--once"]);
      expect(await worker.exited).toBe(0);
      const row = await getSubmission(pool, id);
      expect(row).toMatchObject({ state: "finished", attempts: 1, resultStatus: "error" });
      expect(row?.result?.message).toContain('The lab "no-such-lab" cannot be graded');
      expect(JSON.parse(worker.stdout().trim())).toMatchObject({
        submissionId: id,
        outcome: "finished",
        status: "error",
      });
    },
  );

  it("refuses the process sandbox unless told the code is trusted", async () => {
    const refused = await run(process.execPath, [cliMain, "worker", "--sandbox", "process"], {
      env: { ...process.env, DATABASE_URL: database.url },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toContain("untrusted");
    expect((refused as { stderr: string }).stderr).toContain("--trusted-code");
  });

  it("says where to give the database when DATABASE_URL is missing", async () => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const refused = await run(process.execPath, [cliMain, "worker"], { env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toContain("set DATABASE_URL or pass --database-url");
  });
});
