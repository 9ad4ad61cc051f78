import { afterAll, beforeAll, expect, it } from "vitest";
import { startRouterHarness } from "./support/router-harness.ts";

const labId = "concurrent-transfers";
let harness: Awaited<ReturnType<typeof startRouterHarness>>;
beforeAll(async () => {
  harness = await startRouterHarness();
});
afterAll(() => harness[Symbol.asyncDispose]());

/** A learner's Run, finished with these test statuses (task 1's test, then task 2's). */
async function finishedRun(sessionToken: string, statuses: ["pass" | "fail", "pass" | "fail"]) {
  const { api } = await harness.call({ sessionToken });
  const { id } = await api.submission.run({ labId, files: { "src/bank.ts": `// ${statuses.join(" ")}` } });
  const tests = [
    { name: "Task 1 > opens accounts", task_id: 1, status: statuses[0] },
    { name: "Task 2 > transfers", task_id: 2, status: statuses[1] },
  ].map((test) => ({ ...test, test_code: "", duration_ms: 1 }));
  const status = statuses.every((s) => s === "pass") ? "pass" : "fail";
  await harness.db.pool.query(
    "UPDATE submissions SET state = 'finished', result_status = $2, result = $3 WHERE id = $1",
    [id, status, { version: 3, status, lab_id: labId, tests }],
  );
}

it("reports per task and per test how often learners fail, and after how many Runs they pass", async () => {
  const ada = await harness.signUp("ada@example.com");
  const bob = await harness.signUp("bob@example.com");
  const cy = await harness.signUp("cy@example.com");
  await finishedRun(ada.sessionToken, ["pass", "fail"]);
  await finishedRun(ada.sessionToken, ["pass", "fail"]);
  await finishedRun(ada.sessionToken, ["pass", "pass"]);
  await finishedRun(bob.sessionToken, ["fail", "fail"]);
  await finishedRun(cy.sessionToken, ["pass", "pass"]);

  const teacher = await harness.signUpInstructor("teacher@example.com");
  const { api } = await harness.call({ sessionToken: teacher.sessionToken });
  const report = await api.instructor.labReport({ labId });
  expect(report.title).toBe("Concurrent Money Transfers");
  expect(report.tests).toEqual([
    { name: "Task 2 > transfers", taskId: 2, runs: 5, failed: 3 },
    { name: "Task 1 > opens accounts", taskId: 1, runs: 5, failed: 1 },
  ]);
  expect(report.tasks.map(({ taskId, runs, failed }) => ({ taskId, runs, failed }))).toEqual([
    { taskId: 1, runs: 5, failed: 1 },
    { taskId: 2, runs: 5, failed: 3 },
  ]);
  expect(report.tasks[0]!.title).toBeTruthy();
  expect(report.runsToFirstPass).toEqual([1, 3]);
  expect({ learners: report.learners, passed: report.passedLearners }).toEqual({ learners: 3, passed: 2 });
  // Recent runs name the lab by its title.
  expect((await api.instructor.submissions({ labId }))[0]!.labTitle).toBe("Concurrent Money Transfers");

  // Learners cannot read it.
  const learner = await harness.call({ sessionToken: bob.sessionToken });
  await expect(learner.api.instructor.labReport({ labId })).rejects.toMatchObject({ code: "FORBIDDEN" });
});
