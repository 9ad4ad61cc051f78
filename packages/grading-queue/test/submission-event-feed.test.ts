import { errorGradeResult } from "@backend-labs/grade-result";
import pg from "pg";
import { describe, expect, it } from "vitest";
import {
  claimNextJob,
  enqueueSubmission,
  followSubmissionEvents,
  type GradingEvent,
  listEvents,
  type StoredGradingEvent,
  SubmissionEventFeed,
} from "../src/index.ts";
import { useQueueDatabase } from "./support/queue-database.ts";

const db = useQueueDatabase();

const files = { "src/text.ts": "export {};\n" };

/** Pulls events from a follower one at a time, so the test decides what happens in between. */
function reader(events: AsyncGenerator<StoredGradingEvent, void, undefined>) {
  return async (): Promise<GradingEvent | undefined> => (await events.next()).value?.event;
}

/** Ends the feed's LISTEN connection from the server side, as a database restart or failover would. */
async function killListenConnections(url: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rowCount } = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
    );
    return rowCount ?? 0;
  } finally {
    await admin.end();
  }
}

describe("listEvents", () => {
  it("returns a submission's events in order with string ids, optionally after an id", async () => {
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const other = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const job = (await claimNextJob(db.pool, { workerId: "worker-a", leaseMs: 30_000 }))!;
    expect(job.id).toBe(id);
    await job.recordEvent({ type: "stage", stage: "validate" });
    await job.recordEvent({ type: "test", name: "slugs", status: "pass", durationMs: 4, taskId: 1 });

    const all = await listEvents(db.pool, id);
    expect(all.map((stored) => stored.event.type)).toEqual(["queued", "claimed", "stage", "test"]);
    expect(all.every((stored) => typeof stored.id === "string" && stored.submissionId === id)).toBe(true);
    const ids = all.map((stored) => BigInt(stored.id));
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    expect((await listEvents(db.pool, id, all[1]!.id)).map((stored) => stored.event.type)).toEqual([
      "stage",
      "test",
    ]);
    expect((await listEvents(db.pool, other.id)).map((stored) => stored.event)).toEqual([{ type: "queued" }]);
  });
});

describe("followSubmissionEvents", () => {
  it("replays what is stored, follows live, survives a killed LISTEN connection and ends after finished", async () => {
    await using feed = new SubmissionEventFeed({ connection: db.url, onError: () => {} });
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const job = (await claimNextJob(db.pool, { workerId: "worker-a", leaseMs: 30_000 }))!;

    const follower = followSubmissionEvents(db.pool, feed, id);
    const next = reader(follower);
    // Replay: what happened before anyone followed.
    expect(await next()).toEqual({ type: "queued" });
    expect(await next()).toEqual({ type: "claimed", attempt: 1, workerId: "worker-a" });

    // Live: announced through the feed.
    const live = next();
    await job.recordEvent({ type: "stage", stage: "typecheck" });
    expect(await live).toEqual({ type: "stage", stage: "typecheck" });

    // The LISTEN connection dies; an event is stored while nobody listens, so its announcement is lost.
    const waiting = next();
    expect(await killListenConnections(db.url)).toBe(1);
    await job.recordEvent({ type: "stage", stage: "run" });
    // The feed reconnects and tells the follower to re-read: nothing is missed.
    expect(await waiting).toEqual({ type: "stage", stage: "run" });

    // And it follows live again on the new connection.
    const afterReconnect = next();
    await job.recordEvent({
      type: "test",
      name: "slugs",
      status: "fail",
      durationMs: 2,
      message: "expected a",
    });
    expect(await afterReconnect).toEqual({
      type: "test",
      name: "slugs",
      status: "fail",
      durationMs: 2,
      message: "expected a",
    });

    const last = next();
    await job.finish({
      ...errorGradeResult("text-tools", "unused"),
      status: "fail",
      message: "1 of 1 tests failed.",
    });
    expect(await last).toEqual({ type: "finished", status: "fail" });
    expect(await follower.next()).toEqual({ done: true, value: undefined });
  });

  it("resumes after a given event and ends at once for a finished submission", async () => {
    await using feed = new SubmissionEventFeed({ connection: db.url });
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const job = (await claimNextJob(db.pool, { workerId: "worker-a", leaseMs: 30_000 }))!;
    await job.finish({ ...errorGradeResult("text-tools", "unused"), status: "pass", message: undefined });
    const stored = await listEvents(db.pool, id);

    const resumed: GradingEvent[] = [];
    for await (const { event } of followSubmissionEvents(db.pool, feed, id, { afterEventId: stored[0]!.id }))
      resumed.push(event);
    expect(resumed).toEqual([
      { type: "claimed", attempt: 1, workerId: "worker-a" },
      { type: "finished", status: "pass" },
    ]);

    const afterEnd: GradingEvent[] = [];
    for await (const { event } of followSubmissionEvents(db.pool, feed, id, {
      afterEventId: stored.at(-1)!.id,
    }))
      afterEnd.push(event);
    expect(afterEnd).toEqual([]);
  });

  it("stops when its signal aborts while waiting", async () => {
    await using feed = new SubmissionEventFeed({ connection: db.url });
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const stop = new AbortController();
    const follower = followSubmissionEvents(db.pool, feed, id, { signal: stop.signal });
    expect((await follower.next()).value?.event).toEqual({ type: "queued" });
    const waiting = follower.next();
    stop.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });
  });
});

describe("SubmissionEventFeed.subscribe", () => {
  it("announces each event id to the submission's subscribers only, until they unsubscribe", async () => {
    await using feed = new SubmissionEventFeed({ connection: db.url });
    const { id } = await enqueueSubmission(db.pool, { userId: db.userId, labId: "text-tools", files });
    const heard: string[] = [];
    let onEvent: () => void = () => {};
    const unsubscribe = feed.subscribe(id, (notice) => {
      if (notice.type !== "event") return;
      heard.push(notice.eventId);
      onEvent();
    });
    const announced = new Promise<void>((resolve) => (onEvent = resolve));
    // Wait until the feed listens: an announcement sent before that is (by design) only a resync.
    while (!feed.listening) await new Promise((resolve) => setTimeout(resolve, 20));
    await enqueueSubmission(db.pool, { userId: db.userId, labId: "someone-else", files });
    const job = (await claimNextJob(db.pool, { workerId: "worker-a", leaseMs: 30_000 }))!;
    expect(job.id).toBe(id);
    await announced;
    const claimedEvent = (await listEvents(db.pool, id)).at(-1)!;
    expect(heard).toEqual([claimedEvent.id]);
    unsubscribe();
  });
});
