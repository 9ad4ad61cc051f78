import { errorGradeResult } from "@backend-labs/grade-result";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  cancelSubmission,
  claimNextJob,
  enqueueSubmission,
  getSubmission,
  JobCancelledError,
  listEvents,
} from "../src/index.ts";
import { useQueueDatabase } from "./support/queue-database.ts";

const db = useQueueDatabase();

const files = { "src/text.ts": "export const slugify = (title: string) => title;\n" };
const lease = { leaseMs: 30_000 };

async function enqueue(): Promise<string> {
  return (await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files })).id;
}

async function eventTypes(id: string): Promise<string[]> {
  return (await listEvents(db.pool, id)).map(({ event }) => event.type);
}

describe("cancelSubmission", () => {
  it("takes a queued Run out of the queue: no worker claims it, and its events end with cancelled", async () => {
    const id = await enqueue();
    expect(await cancelSubmission(db.pool, id, db.userId)).toBe(true);

    expect(await claimNextJob(db.pool, { workerId: "worker-a", ...lease })).toBeUndefined();
    expect(await getSubmission(db.pool, id)).toMatchObject({ state: "cancelled", resultStatus: null });
    expect(await eventTypes(id)).toEqual(["queued", "cancelled"]);
  });

  it("takes the lease from a running grade: its worker can no longer renew, record or finish", async () => {
    const id = await enqueue();
    const job = (await claimNextJob(db.pool, { workerId: "worker-a", ...lease }))!;
    expect(await cancelSubmission(db.pool, id, db.userId)).toBe(true);

    expect(await job.extendLease()).toBe(false);
    expect(job.leaseLost.aborted).toBe(true);
    // Told apart from a lease another worker took over, so the worker logs it as a cancel.
    expect(job.leaseLost.reason).toBeInstanceOf(JobCancelledError);
    expect(await job.recordEvent({ type: "stage", stage: "run" })).toBe(false);
    expect(await job.finish({ ...errorGradeResult("text-tools", "unused"), status: "pass", tests: [] })).toBe(
      false,
    );
    expect(await getSubmission(db.pool, id)).toMatchObject({ state: "cancelled", result: null });
    expect(await eventTypes(id)).toEqual(["queued", "claimed", "cancelled"]);
  });

  it("ends the claim as cancelled when a progress event is the first to find the Run cancelled", async () => {
    const id = await enqueue();
    const job = (await claimNextJob(db.pool, { workerId: "worker-a", ...lease }))!;
    expect(await cancelSubmission(db.pool, id, db.userId)).toBe(true);

    // The grade reports a test before its next renewal: not a lease another worker took over.
    expect(await job.recordEvent({ type: "stage", stage: "run" })).toBe(false);
    expect(job.leaseLost.reason).toBeInstanceOf(JobCancelledError);
    expect(await eventTypes(id)).toEqual(["queued", "claimed", "cancelled"]);
  });

  it("leaves another learner's Run and a Run that already ended as they are", async () => {
    const id = await enqueue();
    expect(await cancelSubmission(db.pool, id, randomUUID())).toBe(false);
    expect(await getSubmission(db.pool, id)).toMatchObject({ state: "queued" });

    const job = (await claimNextJob(db.pool, { workerId: "worker-a", ...lease }))!;
    await job.finish({ ...errorGradeResult("text-tools", "unused"), status: "fail", tests: [] });
    expect(await cancelSubmission(db.pool, id, db.userId)).toBe(false);
    expect(await getSubmission(db.pool, id)).toMatchObject({ state: "finished", resultStatus: "fail" });
    expect(await cancelSubmission(db.pool, id, db.userId)).toBe(false);
  });
});
