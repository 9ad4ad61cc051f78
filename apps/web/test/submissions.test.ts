import { errorGradeResult } from "@backend-labs/grade-result";
import { claimNextJob } from "@backend-labs/grading-queue";
import { TRPCError } from "@trpc/server";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetryAfter } from "../src/server/trpc/retry-after.ts";
import { startRouterHarness } from "./support/router-harness.ts";

const labId = "concurrent-transfers";
let harness: Awaited<ReturnType<typeof startRouterHarness>>;

beforeAll(async () => {
  harness = await startRouterHarness({ runsPerMinute: 3, runsInFlight: 2 });
});
afterAll(() => harness[Symbol.asyncDispose]());

async function learner(email: string) {
  const { sessionToken } = await harness.signUp(email);
  return (await harness.call({ sessionToken })).api;
}

describe("running code", () => {
  it("queues the files as a submission with a queued event", async () => {
    const api = await learner("runner@example.com");
    const { id } = await api.submission.run({ labId, files: { "src/bank.ts": "export {};" } });
    expect(await api.submission.get({ id })).toMatchObject({ state: "queued", attempts: 0, result: null });
    const { rows } = await harness.db.pool.query(
      "SELECT payload FROM submission_events WHERE submission_id = $1",
      [id],
    );
    expect(rows.map((row: { payload: unknown }) => row.payload)).toEqual([{ type: "queued" }]);
  });

  it("queues a Run sent again with its id once, counting it once against the limits", async () => {
    const api = await learner("flaky-wifi@example.com");
    const run = { id: randomUUID(), labId, files: { "src/bank.ts": "export {};" } };
    expect(await api.submission.run(run)).toEqual({ id: run.id });
    // The answer was lost: the browser sends the same Run again, several times.
    for (let resend = 0; resend < 3; resend++) expect(await api.submission.run(run)).toEqual({ id: run.id });
    const { rows } = await harness.db.pool.query("SELECT id FROM submissions WHERE user_id = $1", [
      (await api.auth.me())!.id,
    ]);
    expect(rows).toEqual([{ id: run.id }]);
    // The limit of 2 in flight still has room for one more Run.
    await api.submission.run({ ...run, id: randomUUID() });
    await expect(api.submission.run({ ...run, id: randomUUID() })).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
    });
  });

  it("refuses a Run whose id is another learner's, and leaves that Run alone", async () => {
    const owner = await learner("owner@example.com");
    const run = { id: randomUUID(), labId, files: { "src/bank.ts": "export {};" } };
    await owner.submission.run(run);
    const other = await learner("guesser@example.com");
    await expect(
      other.submission.run({ ...run, files: { "src/bank.ts": "// someone else's code" } }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      message: "This Run id belongs to another Run. Press Run again.",
    });
    expect(await owner.submission.get({ id: run.id })).toMatchObject({ state: "queued" });
    const { rows } = await harness.db.pool.query("SELECT files FROM submissions WHERE id = $1", [run.id]);
    expect(rows).toEqual([{ files: run.files }]);
  });

  it("refuses files the lab does not let the learner edit, naming them", async () => {
    const api = await learner("sneaky@example.com");
    await expect(
      api.submission.run({
        labId,
        files: { "src/bank.ts": "", "grader/1-accounts.test.ts": "// the grader, replaced" },
      }),
    ).rejects.toThrow(/grader\/1-accounts\.test\.ts is not editable in this lab/);
  });

  it("limits runs in flight, then runs per minute, with a message that says what to do", async () => {
    const api = await learner("eager@example.com");
    const files = { "src/bank.ts": "export {};" };
    await api.submission.run({ labId, files });
    await api.submission.run({ labId, files });
    await expect(api.submission.run({ labId, files })).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: "You already have 2 run(s) waiting or running. Wait for one to finish.",
    });
    await harness.db.pool.query(
      "UPDATE submissions SET state = 'finished', result_status = 'fail' WHERE lab_id = $1",
      [labId],
    );
    await api.submission.run({ labId, files });
    const refusal = await api.submission.run({ labId, files }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(TRPCError);
    const { code, message, cause } = refusal as TRPCError;
    expect(code).toBe("TOO_MANY_REQUESTS");
    expect(message).toMatch(/^You can run your code 3 times a minute\. Try again in \d+ s\.$/);
    // The wait travels as data too (data.retryAfterSeconds), so the page can clear the message when it is over.
    expect(cause).toBeInstanceOf(RetryAfter);
    const { seconds } = cause as RetryAfter;
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(60);
    expect(message).toContain(`Try again in ${seconds} s.`);
  });
});

describe("cancelling a run", () => {
  it("stops the learner's own Run, frees its in-flight place, and leaves others' Runs alone", async () => {
    const api = await learner("changed-mind@example.com");
    const files = { "src/bank.ts": "export {};" };
    const first = await api.submission.run({ labId, files });
    const second = await api.submission.run({ labId, files });

    const other = await learner("bystander@example.com");
    await expect(other.submission.cancel({ id: first.id })).rejects.toMatchObject({ code: "NOT_FOUND" });

    expect(await api.submission.cancel({ id: first.id })).toEqual({ cancelled: true });
    expect(await api.submission.get({ id: first.id })).toMatchObject({ state: "cancelled", result: null });
    // Only the second is in flight now, so a third Run is accepted under the limit of 2.
    await api.submission.run({ labId, files });
    expect(await api.submission.cancel({ id: first.id })).toEqual({ cancelled: false });
    expect(await api.submission.get({ id: second.id })).toMatchObject({ state: "queued" });
  });
});

describe("watching a run", () => {
  it("replays what happened, then streams events live until the result, without test code", async () => {
    await harness.db.pool.query("UPDATE submissions SET state = 'finished'");
    const api = await learner("watcher@example.com");
    const { id } = await api.submission.run({ labId, files: { "src/bank.ts": "export {};" } });
    const stream = (await api.submission.watch({ id }))[Symbol.asyncIterator]();
    // Server-side callers see tracked events as [event id, event].
    const nextEvent = async () => ((await stream.next()).value as [string, unknown] | undefined)?.[1];
    expect(await nextEvent()).toEqual({ type: "queued" });

    const job = await claimNextJob(harness.db.pool, { workerId: "test-worker", leaseMs: 30_000 });
    expect(job?.id).toBe(id);
    expect(await nextEvent()).toMatchObject({ type: "claimed", attempt: 1 });
    await job!.recordEvent({ type: "stage", stage: "typecheck" });
    expect(await nextEvent()).toEqual({ type: "stage", stage: "typecheck" });
    await job!.recordEvent({
      type: "test",
      name: "opens an account",
      status: "fail",
      durationMs: 12,
      taskId: 1,
    });
    expect(await nextEvent()).toMatchObject({ type: "test", status: "fail", taskId: 1 });
    await job!.finish({
      ...errorGradeResult(labId, "unused"),
      status: "fail",
      message: undefined,
      tests: [
        {
          name: "opens an account",
          status: "fail",
          message: "expected 1",
          test_code: "SECRET GRADER CODE",
          duration_ms: 12,
          task_id: 1,
        },
        { name: "reads a balance", status: "pass", test_code: "", duration_ms: 3, task_id: 2 },
      ],
    });
    expect(await nextEvent()).toEqual({ type: "finished", status: "fail" });
    expect((await stream.next()).done).toBe(true);

    const submission = await api.submission.get({ id });
    expect(submission).toMatchObject({ state: "finished", resultStatus: "fail" });
    expect(JSON.stringify(submission)).not.toContain("SECRET GRADER CODE");
    // Each task weighs the same: task 1 scores 0 of 1, task 2 one of 1.
    expect(submission.result).toMatchObject({
      score: 0.5,
      task_scores: [
        { task_id: 1, passed: 0, total: 1, score: 0 },
        { task_id: 2, passed: 1, total: 1, score: 1 },
      ],
    });
    expect(await api.submission.list({ labId })).toMatchObject([
      { id, counts: { passed: 1, total: 2, score: 0.5 } },
    ]);
  });
});
