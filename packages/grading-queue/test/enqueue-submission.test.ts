import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { claimNextJob, enqueueSubmission, listEvents } from "../src/index.ts";
import { useQueueDatabase } from "./support/queue-database.ts";

const db = useQueueDatabase();

const files = { "src/text.ts": "export const slugify = (title: string) => title;\n" };

describe("enqueueSubmission", () => {
  it("queues a Run sent again with the same id once: one row, one queued event, one job to claim", async () => {
    const id = randomUUID();
    const input = { id, userId: db.userId, labId: "text-tools", files };

    expect(await enqueueSubmission(db.pool, input)).toEqual({ id, created: true });
    // The retry after a dropped connection, and a second copy racing the first.
    const again = await Promise.all([enqueueSubmission(db.pool, input), enqueueSubmission(db.pool, input)]);
    expect(again).toEqual([
      { id, created: false },
      { id, created: false },
    ]);

    const { rows } = await db.pool.query<{ id: string }>("SELECT id FROM submissions");
    expect(rows).toEqual([{ id }]);
    expect((await listEvents(db.pool, id)).map(({ event }) => event.type)).toEqual(["queued"]);
    expect((await claimNextJob(db.pool, { workerId: "w1", leaseMs: 30_000 }))?.id).toBe(id);
    expect(await claimNextJob(db.pool, { workerId: "w2", leaseMs: 30_000 })).toBeUndefined();
  });

  it("gives each Run without an id a new one", async () => {
    const input = { userId: db.userId, labId: "text-tools", files };
    const [first, second] = await Promise.all([
      enqueueSubmission(db.pool, input),
      enqueueSubmission(db.pool, input),
    ]);
    expect(first.created && second.created).toBe(true);
    expect(first.id).not.toBe(second.id);
  });
});
