// pnpm bench (or node bench/run-to-result.ts [lab-id...]): what a learner waits for after pressing Run.
// One `labs worker` process drains a real Postgres queue, as in production; each lab's reference
// solution is submitted BENCH_RUNS times (default 5), one at a time. Times come from the database's own
// clock: submission created -> first test result event, and -> finished event. Prints medians.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestDatabase } from "@backend-labs/db/testing";
import { enqueueSubmission } from "@backend-labs/grading-queue";
import { discoverLabs, labFiles } from "@backend-labs/lab-format";
import pg from "pg";

const labsRoot = fileURLToPath(new URL("../../../labs", import.meta.url));
const cliMain = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const only = process.argv.slice(2);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padStart(9);

await using database = await startTestDatabase();
const pool = new pg.Pool({ connectionString: database.url, max: 2 });
const worker = spawn(process.execPath, [cliMain, "worker"], {
  env: { ...process.env, DATABASE_URL: database.url },
  stdio: ["ignore", "ignore", "inherit"],
});
try {
  const { rows } = await pool.query<{ id: string }>(
    "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'bench@example.com', 'x') RETURNING id",
  );
  const userId = rows[0]!.id;
  const labs = discoverLabs(labsRoot).labs.filter(
    (lab) => only.length === 0 || only.includes(lab.manifest.id),
  );
  console.log(`lab                         first test   final result   status   (median of ${runs})`);
  for (const lab of labs) {
    const files = Object.fromEntries(
      lab.manifest.learner.editable.map((path) => [
        path,
        readFileSync(join(lab.dir, labFiles.solution, path), "utf8"),
      ]),
    );
    const firstTest: number[] = [];
    const final: number[] = [];
    const statuses = new Set<string>();
    for (let run = 0; run < runs; run++) {
      const { id } = await enqueueSubmission(pool, { userId, labId: lab.manifest.id, files });
      const timing = await waitForResult(id);
      firstTest.push(timing.firstTestMs);
      final.push(timing.finalMs);
      statuses.add(timing.status);
    }
    console.log(
      `${lab.manifest.id.padEnd(28)}${seconds(median(firstTest))}    ${seconds(median(final))}     ${[...statuses].join(",")}`,
    );
  }
} finally {
  worker.kill("SIGTERM");
  await new Promise((resolve) => worker.once("exit", resolve));
  await pool.end();
}

async function waitForResult(id: string): Promise<{ firstTestMs: number; finalMs: number; status: string }> {
  for (;;) {
    const { rows } = await pool.query<{
      first_test_ms: number | null;
      final_ms: number | null;
      status: string | null;
    }>(
      `SELECT (extract(epoch FROM (SELECT min(e.created_at) FROM submission_events e
                                   WHERE e.submission_id = s.id AND e.payload->>'type' = 'test') - s.created_at)
               * 1000)::float8 AS first_test_ms,
              (extract(epoch FROM s.finished_at - s.created_at) * 1000)::float8 AS final_ms,
              s.result_status::text AS status
         FROM submissions s WHERE s.id = $1`,
      [id],
    );
    const row = rows[0];
    if (row?.final_ms != null) {
      return {
        firstTestMs: row.first_test_ms ?? row.final_ms,
        finalMs: row.final_ms,
        status: row.status ?? "?",
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
