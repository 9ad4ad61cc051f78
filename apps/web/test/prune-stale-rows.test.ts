import { errorGradeResult } from "@backend-labs/grade-result";
import { claimNextJob } from "@backend-labs/grading-queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pruneStaleRows } from "../src/server/maintenance/prune-stale-rows.ts";
import { startRouterHarness } from "./support/router-harness.ts";

let harness: Awaited<ReturnType<typeof startRouterHarness>>;
beforeAll(async () => {
  harness = await startRouterHarness({ runsInFlight: 5 });
});
afterAll(() => harness[Symbol.asyncDispose]());

const options = { eventDays: 30, signInWindowMs: 15 * 60_000 };
const labId = "concurrent-transfers";
const files = { "src/bank.ts": "export {};" };

async function count(sql: string, values: unknown[] = []): Promise<number> {
  const { rows } = await harness.db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${sql}`,
    values,
  );
  return rows[0]!.n;
}

describe("pruneStaleRows", () => {
  it("deletes expired sessions and failed sign-ins outside the window, and nothing current", async () => {
    const { user, sessionToken } = await harness.signUp("pruned@example.com");
    await harness.db.pool.query(
      "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ('old', $1, now() - interval '1 day')",
      [user.id],
    );
    await harness.db.pool.query(
      `INSERT INTO sign_in_failures (email, failed_at)
       VALUES ('a@example.com', now() - interval '1 hour'), ('a@example.com', now())`,
    );
    const pruned = await pruneStaleRows(harness.db.pool, options);
    expect(pruned).toMatchObject({ sessions: 1, signInFailures: 1 });
    expect(await count("sessions")).toBe(1);
    expect(await count("sign_in_failures")).toBe(1);
    // The live session still signs its learner in.
    expect(await (await harness.call({ sessionToken })).api.auth.me()).toMatchObject({
      email: "pruned@example.com",
    });
  });

  it("keeps only the last progress event of Runs that ended long ago; recent and running Runs keep all", async () => {
    const { sessionToken } = await harness.signUp("history@example.com");
    const { api } = await harness.call({ sessionToken });
    const old = await api.submission.run({ labId, files });
    const recent = await api.submission.run({ labId, files });
    const running = await api.submission.run({ labId, files });
    for (const id of [old.id, recent.id]) {
      const job = (await claimNextJob(harness.db.pool, { workerId: "w", leaseMs: 30_000 }))!;
      expect(job.id).toBe(id);
      await job.recordEvent({ type: "stage", stage: "run" });
      await job.finish({ ...errorGradeResult(labId, "x"), status: "fail" });
    }
    await claimNextJob(harness.db.pool, { workerId: "w", leaseMs: 30_000 });
    await harness.db.pool.query(
      "UPDATE submissions SET finished_at = now() - interval '31 days', created_at = now() - interval '31 days' WHERE id = $1",
      [old.id],
    );
    const before = (id: string) => count("submission_events WHERE submission_id = $1", [id]);
    const [recentBefore, runningBefore] = [await before(recent.id), await before(running.id)];

    const pruned = await pruneStaleRows(harness.db.pool, options);
    expect(pruned.events).toBe(3); // queued, claimed, stage of the old Run
    const { rows } = await harness.db.pool.query<{ type: string }>(
      "SELECT payload->>'type' AS type FROM submission_events WHERE submission_id = $1",
      [old.id],
    );
    expect(rows).toEqual([{ type: "finished" }]);
    expect(await before(recent.id)).toBe(recentBefore);
    expect(await before(running.id)).toBe(runningBefore);
    // Its result is whole: the history and the results panel read it from the submission.
    expect((await api.submission.get({ id: old.id })).result).toMatchObject({ status: "fail" });
  });
});
