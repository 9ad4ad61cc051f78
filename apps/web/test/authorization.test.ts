import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRouterHarness } from "./support/router-harness.ts";

const labId = "concurrent-transfers";
let harness: Awaited<ReturnType<typeof startRouterHarness>>;
let ada: { sessionToken: string; submissionId: string };
let bob: { sessionToken: string };
let teacher: { sessionToken: string };

beforeAll(async () => {
  harness = await startRouterHarness();
  const adaAccount = await harness.signUp("ada@example.com");
  const { api } = await harness.call({ sessionToken: adaAccount.sessionToken });
  await api.draft.save({ labId, files: { "src/bank.ts": "// ada's secret draft" } });
  const { id } = await api.submission.run({ labId, files: { "src/bank.ts": "// ada's run" } });
  ada = { sessionToken: adaAccount.sessionToken, submissionId: id };
  bob = await harness.signUp("bob@example.com");
  teacher = await harness.signUpInstructor("teacher@example.com");
});
afterAll(() => harness[Symbol.asyncDispose]());

describe("a learner sees only their own work", () => {
  it("gets FORBIDDEN for another learner's submission", async () => {
    const { api } = await harness.call({ sessionToken: bob.sessionToken });
    await expect(api.submission.get({ id: ada.submissionId })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("gets FORBIDDEN when subscribing to another learner's progress", async () => {
    const { api } = await harness.call({ sessionToken: bob.sessionToken });
    const stream = await api.submission.watch({ id: ada.submissionId });
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("lists only their own submissions and reads only their own draft", async () => {
    const { api } = await harness.call({ sessionToken: bob.sessionToken });
    expect(await api.submission.list({ labId })).toEqual([]);
    expect(await api.draft.get({ labId })).toBeNull();
    const own = await harness.call({ sessionToken: ada.sessionToken });
    expect((await own.api.submission.list({ labId })).map((row) => row.id)).toEqual([ada.submissionId]);
    expect((await own.api.draft.get({ labId }))?.files).toEqual({ "src/bank.ts": "// ada's secret draft" });
  });

  it("cannot open the instructor views", async () => {
    const { api } = await harness.call({ sessionToken: bob.sessionToken });
    await expect(api.instructor.labStats()).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(api.instructor.submissions({})).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});

describe("an instructor", () => {
  it("reads any learner's submission and sees per-lab pass rates", async () => {
    const { api } = await harness.call({ sessionToken: teacher.sessionToken });
    expect(await api.submission.get({ id: ada.submissionId })).toMatchObject({
      labId,
      files: { "src/bank.ts": "// ada's run" },
    });
    const listed = await api.instructor.submissions({ labId });
    expect(listed.map((row) => row.learner)).toEqual(["ada@example.com"]);

    await harness.db.pool.query(
      "UPDATE submissions SET state = 'finished', result_status = 'pass' WHERE id = $1",
      [ada.submissionId],
    );
    const stats = await api.instructor.labStats();
    expect(stats.labs.find((lab) => lab.id === labId)).toMatchObject({
      learners: 1,
      passedLearners: 1,
      passRate: 1,
      submissions: 1,
    });
    expect(stats.labs.find((lab) => lab.id === "redis-rate-limiter")).toMatchObject({
      learners: 0,
      passRate: null,
    });
  });
});

describe("visitors", () => {
  it("can read labs but not run code or save drafts", async () => {
    const { api } = await harness.call();
    expect((await api.lab.get({ labId })).title).toBeTruthy();
    await expect(api.submission.run({ labId, files: { "src/bank.ts": "" } })).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
    await expect(api.draft.save({ labId, files: {} })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});
