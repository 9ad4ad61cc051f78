import { describe, expect, it } from "vitest";
import { claimNextJob, enqueueSubmission, JobWakeups } from "../src/index.ts";
import { useQueueDatabase } from "./support/queue-database.ts";

const db = useQueueDatabase();

const files = { "src/text.ts": "export {};\n" };
/** Far beyond the test's own timeout: only a notification can end these waits in time. */
const noPoll = 10 * 60_000;

async function listening(wakeups: JobWakeups): Promise<void> {
  while (!wakeups.listening) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("JobWakeups", () => {
  it("wakes an idle worker when a submission is enqueued", async () => {
    await using wakeups = new JobWakeups({ connection: db.url });
    await listening(wakeups);
    const mark = wakeups.mark();
    expect(await claimNextJob(db.pool, { workerId: "idle", leaseMs: 30_000 })).toBeUndefined();
    const woken = wakeups.wait(mark, noPoll);
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    await woken;
    expect((await claimNextJob(db.pool, { workerId: "idle", leaseMs: 30_000 }))?.id).toBe(id);
  });

  it("does not sleep through an announcement that came between the mark and the wait", async () => {
    await using wakeups = new JobWakeups({ connection: db.url });
    await listening(wakeups);
    const mark = wakeups.mark();
    await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    while (wakeups.mark() === mark) await new Promise((resolve) => setTimeout(resolve, 20));
    await wakeups.wait(mark, noPoll);
  });

  it("wakes the waiters when a released job returns to the queue", async () => {
    await using wakeups = new JobWakeups({ connection: db.url });
    await listening(wakeups);
    await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const job = (await claimNextJob(db.pool, { workerId: "stopping", leaseMs: 30_000 }))!;
    const woken = wakeups.wait(wakeups.mark(), noPoll);
    await job.release();
    await woken;
  });

  it("returns at the poll timeout and when its signal aborts", async () => {
    await using wakeups = new JobWakeups({ connection: db.url });
    await wakeups.wait(wakeups.mark(), 50);
    const stop = new AbortController();
    const waiting = wakeups.wait(wakeups.mark(), noPoll, stop.signal);
    stop.abort();
    await waiting;
  });
});
