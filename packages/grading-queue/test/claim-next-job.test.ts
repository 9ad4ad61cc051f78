import { errorGradeResult, type GradeResult } from "@backend-labs/grade-result";
import { describe, expect, it } from "vitest";
import {
  claimNextJob,
  type ClaimedJob,
  enqueueSubmission,
  getSubmission,
  JobCancelledError,
  LeaseLostError,
  listEvents,
} from "../src/index.ts";
import { expireLease, useQueueDatabase } from "./support/queue-database.ts";

const db = useQueueDatabase();

const files = { "src/text.ts": "export const slugify = (title: string) => title;\n" };
const lease = { leaseMs: 30_000 };

function passResult(labId: string): GradeResult {
  return { ...errorGradeResult(labId, "unused"), status: "pass", message: undefined, tests: [] };
}

describe("claimNextJob", () => {
  it("gives each job to exactly one of several claimers racing for them", async () => {
    const ids = new Set<string>();
    for (let n = 0; n < 20; n++)
      ids.add((await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files })).id);

    const claimer = async (workerId: string): Promise<ClaimedJob[]> => {
      const claimed: ClaimedJob[] = [];
      for (let job = await claimNextJob(db.pool, { workerId, ...lease }); job;) {
        claimed.push(job);
        job = await claimNextJob(db.pool, { workerId, ...lease });
      }
      return claimed;
    };
    const perClaimer = await Promise.all(["w1", "w2", "w3", "w4"].map(claimer));

    const claimedIds = perClaimer.flat().map((job) => job.id);
    expect(claimedIds).toHaveLength(20);
    expect(new Set(claimedIds)).toEqual(ids);
    // Every claimer got work: the claims really raced rather than running one after another.
    expect(perClaimer.filter((jobs) => jobs.length > 0).length).toBeGreaterThan(1);
    const { rows } = await db.pool.query<{ state: string; attempts: number; worker_id: string }>(
      "SELECT state, attempts, worker_id FROM submissions",
    );
    expect(rows.every((row) => row.state === "running" && row.attempts === 1)).toBe(true);
  });

  it("claims the oldest job first and records a claimed event", async () => {
    const first = await enqueueSubmission(db.pool, { userId: db.userId, labId: "first", files });
    await enqueueSubmission(db.pool, { userId: db.userId, labId: "second", files });
    const job = await claimNextJob(db.pool, { workerId: "worker-a", ...lease });
    expect(job).toMatchObject({ id: first.id, labId: "first", files, attempt: 1, workerId: "worker-a" });
    expect((await listEvents(db.pool, first.id)).map((stored) => stored.event)).toEqual([
      { type: "queued" },
      { type: "claimed", attempt: 1, workerId: "worker-a" },
    ]);
  });

  it("returns undefined when nothing is queued and no lease has expired", async () => {
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    expect((await claimNextJob(db.pool, { workerId: "worker-a", ...lease }))?.id).toBe(id);
    expect(await claimNextJob(db.pool, { workerId: "worker-b", ...lease })).toBeUndefined();
  });
});

describe("an expired lease", () => {
  it("is reclaimed as attempt 2, and the stale claim can no longer extend, record, finish or release", async () => {
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const stale = (await claimNextJob(db.pool, { workerId: "dead-worker", ...lease }))!;
    await expireLease(db.pool, id);

    const fresh = (await claimNextJob(db.pool, { workerId: "live-worker", ...lease }))!;
    expect(fresh).toMatchObject({ id, attempt: 2, workerId: "live-worker" });

    expect(await stale.extendLease()).toBe(false);
    expect(stale.leaseLost.aborted).toBe(true);
    expect(stale.leaseLost.reason).toBeInstanceOf(LeaseLostError);
    expect(stale.leaseLost.reason).not.toBeInstanceOf(JobCancelledError);
    expect(await stale.recordEvent({ type: "stage", stage: "run" })).toBe(false);
    expect(await stale.finish({ ...passResult("text-tools"), status: "fail" })).toBe(false);
    expect(await stale.release()).toBe(false);

    expect(await fresh.extendLease()).toBe(true);
    expect(await fresh.recordEvent({ type: "stage", stage: "run" })).toBe(true);
    expect(await fresh.finish(passResult("text-tools"))).toBe(true);

    const row = await getSubmission(db.pool, id);
    expect(row).toMatchObject({
      state: "finished",
      attempts: 2,
      resultStatus: "pass",
      workerId: "live-worker",
    });
    expect(row?.result?.status).toBe("pass");
    expect((await listEvents(db.pool, id)).map(({ attempt, event }) => ({ attempt, event }))).toEqual([
      { attempt: 0, event: { type: "queued" } },
      { attempt: 1, event: { type: "claimed", attempt: 1, workerId: "dead-worker" } },
      {
        attempt: 1,
        event: {
          type: "retrying",
          reason: "Attempt 1 stopped without finishing (its worker stopped answering); grading again.",
        },
      },
      { attempt: 2, event: { type: "claimed", attempt: 2, workerId: "live-worker" } },
      { attempt: 2, event: { type: "stage", stage: "run" } },
      { attempt: 2, event: { type: "finished", status: "pass" } },
    ]);
  });

  it("ends the job as an error once it was interrupted the maximum number of times", async () => {
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const job = await claimNextJob(db.pool, { workerId: `worker-${attempt}`, ...lease });
      expect(job?.attempt).toBe(attempt);
      await expireLease(db.pool, id);
    }
    expect(await claimNextJob(db.pool, { workerId: "worker-4", ...lease })).toBeUndefined();

    const row = await getSubmission(db.pool, id);
    expect(row).toMatchObject({ state: "finished", attempts: 3, resultStatus: "error" });
    expect(row?.result).toMatchObject({
      status: "error",
      lab_id: "text-tools",
      message: "Grading was interrupted 3 times without finishing; please run again.",
    });
    expect((await listEvents(db.pool, id)).at(-1)?.event).toEqual({ type: "finished", status: "error" });
  });

  it("is noticed by the worker itself: leaseLost aborts when no renewal was confirmed in time", async () => {
    await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const job = (await claimNextJob(db.pool, { workerId: "slow-worker", leaseMs: 200 }))!;
    const reason = await new Promise((resolve) =>
      job.leaseLost.addEventListener("abort", () => resolve(job.leaseLost.reason)),
    );
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect((reason as Error).message).toContain("ran out before a renewal was confirmed");
  });
});

describe("a claimed job", () => {
  it("keeps its lease while keepLeaseAlive runs", async () => {
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const job = (await claimNextJob(db.pool, { workerId: "worker-a", leaseMs: 600 }))!;
    const firstExpiry = job.leaseExpiresAt;
    {
      using _alive = job.keepLeaseAlive(100);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    // Renewed several times over: well past the first lease, and never lost.
    expect(job.leaseLost.aborted).toBe(false);
    expect(job.leaseExpiresAt.getTime()).toBeGreaterThan(firstExpiry.getTime());
    expect(await claimNextJob(db.pool, { workerId: "worker-b", leaseMs: 600 })).toBeUndefined();
    expect(await job.finish(passResult("text-tools"))).toBe(true);
    expect((await getSubmission(db.pool, id))?.state).toBe("finished");
  });

  it("goes back to the queue on release without using up an attempt", async () => {
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const job = (await claimNextJob(db.pool, { workerId: "stopping-worker", ...lease }))!;
    expect(await job.release()).toBe(true);
    expect(await getSubmission(db.pool, id)).toMatchObject({ state: "queued", attempts: 0, workerId: null });

    const again = await claimNextJob(db.pool, { workerId: "next-worker", ...lease });
    expect(again).toMatchObject({ id, attempt: 1 });
    expect(await job.finish(passResult("text-tools"))).toBe(false);
  });

  it("counts an attempt when retried later after a failure of its worker's machine", async () => {
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const job = (await claimNextJob(db.pool, { workerId: "worker-a", ...lease }))!;
    expect(await job.retryLater("Docker stopped answering")).toBe(true);
    expect(await getSubmission(db.pool, id)).toMatchObject({ state: "queued", attempts: 1 });
    expect((await listEvents(db.pool, id)).at(-1)?.event).toEqual({
      type: "retrying",
      reason: "Docker stopped answering",
    });
    expect((await claimNextJob(db.pool, { workerId: "worker-b", ...lease }))?.attempt).toBe(2);
  });

  it("stores results and events with learner-inflated text capped", async () => {
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const job = (await claimNextJob(db.pool, { workerId: "worker-a", ...lease }))!;
    const huge = "x".repeat(200_000);
    await job.recordEvent({
      type: "test",
      name: "prints a lot",
      status: "fail",
      durationMs: 3,
      message: huge,
    });
    await job.finish({
      ...passResult("text-tools"),
      status: "fail",
      message: huge,
      tests: [
        { name: "prints a lot", status: "fail", message: huge, output: huge, test_code: "", duration_ms: 3 },
      ],
    });
    const result = (await getSubmission(db.pool, id))!.result!;
    expect(result.message).toMatch(/^x{8000}\n\[output truncated: showing 8000 of 200000 characters\]$/);
    expect(result.tests[0]!.message).toHaveLength(result.message!.length);
    expect(result.tests[0]!.output).toMatch(
      /^x{500}\n\[output truncated: showing 500 of 200000 characters\]$/,
    );
    const testEvent = (await listEvents(db.pool, id)).find((stored) => stored.event.type === "test")!.event;
    expect(testEvent).toMatchObject({ message: result.message });
  });
});
