import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startRouterHarness } from "./support/router-harness.ts";

let harness: Awaited<ReturnType<typeof startRouterHarness>>;
beforeAll(async () => {
  harness = await startRouterHarness();
});
afterAll(() => harness[Symbol.asyncDispose]());

it("lists all 12 sections with their labs, and no progress for visitors", async () => {
  const { api } = await harness.call();
  const roadmap = await api.lab.roadmap();
  expect(roadmap.map((section) => section.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const placed = roadmap.flatMap((section) => section.labs.map((lab) => lab.id)).sort();
  expect(placed).toEqual(
    harness.catalog
      .current()
      .labs.map((lab) => lab.manifest.id)
      .sort(),
  );
  expect(roadmap.flatMap((section) => section.labs).every((lab) => lab.progress === "not-started")).toBe(
    true,
  );
});

it("moves a lab from not started to in progress (its first Run) to passed (a passing run), per lab and section", async () => {
  const { sessionToken } = await harness.signUp("progress@example.com");
  const { api } = await harness.call({ sessionToken });
  const section = async () => (await api.lab.roadmap()).find((entry) => entry.number === 3)!;
  expect((await section()).progress).toBe("not-started");

  // Opening a lab and typing saves a draft; that alone starts nothing.
  await api.draft.save({ labId: "concurrent-transfers", files: { "src/bank.ts": "// started" } });
  expect((await api.lab.get({ labId: "concurrent-transfers" })).progress).toBe("not-started");
  expect(await api.lab.continueWhereLeftOff()).toEqual({
    id: "concurrent-transfers",
    title: "Concurrent Money Transfers",
  });

  const first = await api.submission.run({ labId: "concurrent-transfers", files: { "src/bank.ts": "// 1" } });
  expect((await api.lab.get({ labId: "concurrent-transfers" })).progress).toBe("in-progress");
  expect((await section()).progress).toBe("in-progress");

  await harness.db.pool.query(
    "UPDATE submissions SET state = 'finished', result_status = 'pass' WHERE id = $1",
    [first.id],
  );
  const after = await section();
  expect(after.labs.find((lab) => lab.id === "concurrent-transfers")?.progress).toBe("passed");
  expect(after.passed).toBe(1);
  expect(after.progress).toBe(after.labs.length === 1 ? "passed" : "in-progress");
  // A passed lab is not where the learner left off, and the next lab suggested skips it.
  expect(await api.lab.continueWhereLeftOff()).toBeNull();
  const labs = (await api.lab.roadmap()).flatMap((entry) => entry.labs);
  const before = labs[labs.findIndex((lab) => lab.id === "concurrent-transfers") - 1]!;
  expect((await api.lab.get({ labId: before.id })).nextLab?.id).toBe(
    labs[labs.findIndex((lab) => lab.id === "concurrent-transfers") + 1]!.id,
  );
});

it("continues where the learner left off: the unpassed lab with the latest draft or Run", async () => {
  const { sessionToken } = await harness.signUp("continue@example.com");
  const { api } = await harness.call({ sessionToken });
  expect(await api.lab.continueWhereLeftOff()).toBeNull();
  // Times are kept to the millisecond: a few between steps, so "latest" is never a tie.
  await api.submission.run({ labId: "cache-aside", files: { "src/catalog.ts": "// tried" } });
  await sleep(5);
  await api.draft.save({ labId: "keyset-pagination", files: { "src/feed.ts": "// later" } });
  expect((await api.lab.continueWhereLeftOff())?.id).toBe("keyset-pagination");
  await sleep(5);
  await api.submission.run({ labId: "cache-aside", files: { "src/catalog.ts": "// again" } });
  expect((await api.lab.continueWhereLeftOff())?.id).toBe("cache-aside");
  // Visitors have no progress to continue.
  expect(await (await harness.call()).api.lab.continueWhereLeftOff()).toBeNull();
});

it("resets a draft back to the starter", async () => {
  const { sessionToken } = await harness.signUp("reset@example.com");
  const { api } = await harness.call({ sessionToken });
  await api.draft.save({
    labId: "cache-aside",
    files: { [(await api.lab.get({ labId: "cache-aside" })).files[0]!.path]: "x" },
  });
  await api.draft.reset({ labId: "cache-aside" });
  expect(await api.draft.get({ labId: "cache-aside" })).toBeNull();
});
