import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, type Page, test } from "./fixtures.ts";
import { recordForeignRequests } from "./local-requests-only.ts";

const labId = "concurrent-transfers";
const labDir = fileURLToPath(new URL("../../../labs/03-databases/concurrent-transfers/", import.meta.url));
const solution = readFileSync(`${labDir}solution/src/bank.ts`, "utf8");
const starter = readFileSync(`${labDir}starter/src/bank.ts`, "utf8");
/** A line only the solution has: if a page ever served it before the learner typed it, it leaked. */
const solutionOnlyLine = solution
  .split("\n")
  .map((line) => line.trim())
  .find((line) => line.length > 40 && !starter.includes(line))!;
/** The first line where the solution differs from the starter: near the top, so on screen. */
const firstChangedLine = solution
  .split("\n")
  .find((line, index) => line !== starter.split("\n")[index])!
  .trim();

/** Select all and paste, as a learner would (typing would let Monaco auto-indent every line). */
async function pasteIntoEditor(page: Page, content: string): Promise<void> {
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.evaluate((text) => navigator.clipboard.writeText(text), content);
  await page.locator(".monaco-editor").first().click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("ControlOrMeta+V");
}

/** The learner's saved draft, read through the app's own API with the browser's session. */
async function savedDraft(page: Page): Promise<Record<string, string> | undefined> {
  const input = encodeURIComponent(JSON.stringify({ labId }));
  const response = await page.request.get(`/api/trpc/draft.get?input=${input}`);
  const body = (await response.json()) as { result?: { data?: { files?: Record<string, string> } | null } };
  return body.result?.data?.files;
}

test("a new learner signs up, fails a run, fixes the code, passes, and sees it on the roadmap", async ({
  page,
}, testInfo) => {
  const foreignRequests = await recordForeignRequests(page);
  // Every dialog is accepted. "Leave site?" shows only if the reload below beats the autosave, so the
  // confirmations are recorded rather than awaited one by one.
  const confirmations: string[] = [];
  page.on("dialog", (dialog) => {
    if (dialog.type() === "confirm") confirmations.push(dialog.message());
    void dialog.accept();
  });
  const servedBodies: string[] = [];
  page.on("response", (response) => {
    const type = response.headers()["content-type"] ?? "";
    if (/json|html|javascript|text/.test(type))
      void response.text().then(
        (body) => servedBodies.push(body),
        () => {},
      );
  });

  await page.goto("/");
  await expect(page.getByRole("heading", { name: "The backend roadmap, lab by lab" })).toBeVisible();
  for (let section = 1; section <= 12; section++)
    await expect(page.getByTestId(`section-${section}`)).toBeVisible();

  const email = `learner-${Date.now()}@example.com`;
  await page.getByRole("link", { name: "Sign up" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);
  await expect(page.getByTestId("section-3-progress")).toContainText("0/");

  await page.getByTestId(`lab-card-${labId}`).click();
  // The first visit renders the lab page on demand: on a loaded 2-core machine that can take a while.
  await expect(page.getByRole("heading", { level: 1, name: "Concurrent Money Transfers" })).toBeVisible({
    timeout: 60_000,
  });
  await expect(page.locator(".monaco-editor").first()).toBeVisible({ timeout: 60_000 });

  // The starter fails: each failing test shows its message and its task.
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await expect(page.getByTestId("step-queued")).toBeVisible();
  const summary = page.getByTestId("result-summary");
  await expect(summary).toHaveAttribute("data-status", /fail|error/, { timeout: 120_000 });
  await expect(page.getByTestId("step-done")).toHaveAttribute("data-state", "done");
  const failing = page.locator('[data-testid="test-row"][data-status="fail"]');
  await expect(failing.first()).toBeVisible();
  // Results come grouped by task, failing tests first, each group headed by a link to its task.
  const failedTask = page.locator('[data-testid="task-group"][data-failed="true"]').first();
  await expect(failedTask.locator(".task-link")).toContainText(/Task \d+:/);
  // Its link scrolls the instructions to that task's own text and highlights it.
  const taskNumber = (await failedTask.locator(".task-link").textContent())?.match(/Task (\d+):/)?.[1];
  await failedTask.locator(".task-link").click();
  const taskText = page.locator(`#task-${taskNumber}`);
  await expect(taskText).toBeInViewport();
  await expect(taskText).toHaveCSS("outline-style", "solid");
  await expect(failedTask.locator('[data-testid="test-row"]').first()).toHaveAttribute(
    "data-status",
    /fail|error/,
  );
  expect(servedBodies.some((body) => body.includes(solutionOnlyLine))).toBe(false);

  // A type error stops the grade at type-checking: that step fails, the later ones are skipped, and the
  // error's place is a link into the editor.
  await pasteIntoEditor(page, `${starter}\nconst notANumber: number = "ten";\n`);
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await expect(summary).toHaveAttribute("data-status", "error", { timeout: 120_000 });
  await expect(page.getByTestId("step-typecheck")).toHaveAttribute("data-state", "failed");
  await expect(page.getByTestId("step-tests")).toHaveAttribute("data-state", "skipped");
  await expect(page.getByTestId("result-message").locator(".code-link").first()).toHaveText(
    /^src\/bank\.ts:\d+:\d+$/,
  );

  // The learner writes the fix in Monaco; the draft saves itself.
  await pasteIntoEditor(page, solution);
  // The save state reads "All changes saved" before the paste lands too: wait for the saved draft itself.
  await expect
    .poll(async () => (await savedDraft(page))?.["src/bank.ts"], { timeout: 20_000 })
    .toBe(solution);
  await expect(page.getByTestId("save-state")).toHaveText("All changes saved");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  // While the Run is in flight, Run waits for it: a double click queues nothing twice.
  await expect(page.locator(".run-button")).toBeDisabled();
  await expect(summary).toHaveAttribute("data-status", "pass", { timeout: 120_000 });
  await expect(page.locator(".run-button")).toBeEnabled();
  await expect(summary).toContainText(/All \d+ tests passed/);
  // A pass suggests the next lab on the roadmap.
  await expect(page.getByTestId("next-lab").getByRole("link")).toHaveAttribute(
    "href",
    /^\/labs\/[a-z0-9-]+$/,
  );
  await expect(page.locator('[data-testid="test-row"][data-status="pass"]').first()).toBeVisible();
  await expect(page.getByTestId("submission-history").getByRole("button")).toHaveCount(3);

  const screenshot = testInfo.outputPath("lab-page.png");
  await page.screenshot({ path: screenshot, fullPage: false });
  await testInfo.attach("lab-page", { path: screenshot, contentType: "image/png" });

  // Progress follows: the lab is passed on the roadmap, and the work is still there tomorrow.
  await page.goto("/");
  await expect(page.getByTestId(`lab-card-${labId}`).locator("[data-progress]")).toHaveAttribute(
    "data-progress",
    "passed",
  );
  await expect(page.getByTestId("section-3-progress")).toContainText("1/");
  await expect(page.getByTestId("section-3-progress").getByRole("progressbar")).toHaveAttribute("value", "1");
  // Only started labs carry a progress chip.
  await expect(page.locator('[data-progress="not-started"]')).toHaveCount(0);
  await page.goto(`/labs/${labId}`);
  await expect(page.locator(".monaco-editor .view-lines").first()).toContainText(firstChangedLine, {
    timeout: 60_000,
  });
  // After a reload the results panel shows the last Run.
  await expect(summary).toHaveAttribute("data-status", "pass");

  // An edit typed just before leaving, long before the autosave could send it, is there on return.
  await page.locator(".monaco-editor").first().click();
  await page.keyboard.press("ControlOrMeta+Home");
  await page.keyboard.type("// typed just before leaving\n");
  await page.reload();
  await expect(page.locator(".monaco-editor .view-lines").first()).toContainText(
    "typed just before leaving",
    {
      timeout: 60_000,
    },
  );
  await expect
    .poll(async () => (await savedDraft(page))?.["src/bank.ts"], { timeout: 20_000 })
    .toContain("// typed just before leaving");

  // A past Run's code: read-only beside the draft, and restorable. The oldest Run is the starter's.
  await page.getByTestId("submission-history").getByRole("button").last().click();
  await page.getByText("This Run's code, compared with your draft").click();
  await expect(page.getByTestId("run-code-changes")).toHaveText(/Your draft differs in src\/bank\.ts/);
  await expect(page.getByTestId("run-diff").locator(".monaco-diff-editor")).toBeVisible({ timeout: 60_000 });
  await page.getByRole("button", { name: "Restore this code" }).click();
  await expect
    .poll(() => confirmations)
    .toEqual(["Replace your draft with this Run's code? Your current draft is replaced."]);
  await expect(page.getByTestId("run-code-changes")).toHaveText("Your draft is the same as this Run's code.");
  await expect.poll(async () => (await savedDraft(page))?.["src/bank.ts"], { timeout: 20_000 }).toBe(starter);
  // The restore is one edit in the editor's history: Ctrl+Z brings the draft back.
  await page.locator(".monaco-editor").first().click();
  await page.keyboard.press("ControlOrMeta+Z");
  await expect(page.getByTestId("run-code-changes")).toHaveText(/Your draft differs in src\/bank\.ts/);
  await expect(page.getByTestId("save-state")).toHaveText("All changes saved", { timeout: 20_000 });

  // A learner on the instructor page gets a 403 that says why, not the page and not a 200.
  const instructorOnly = await page.goto("/instructor");
  expect(instructorOnly?.status()).toBe(403);
  await expect(page.getByRole("heading", { name: "Instructors only" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Back to the roadmap" })).toBeVisible();

  expect(foreignRequests).toEqual([]);
});

test("a visitor can read a lab and edit code, but must sign up to run it", async ({ page }) => {
  const foreignRequests = await recordForeignRequests(page);
  await page.goto(`/labs/${labId}`);
  await expect(page.getByRole("button", { name: "Run", exact: true })).toBeDisabled();
  await expect(page.getByRole("link", { name: "Create an account" })).toBeVisible();
  // Each task's hints sit under the task's own text in the README, one at a time.
  await expect(page.getByRole("heading", { name: "Tasks and hints" })).toHaveCount(0);
  const secondTask = page.locator("#task-2");
  await expect(secondTask).toContainText("Transfer");
  await secondTask.getByRole("button", { name: "Show a hint (2 left)" }).click();
  await expect(secondTask.getByText("Hint 1:")).toBeVisible();
  await expect(secondTask.getByRole("button", { name: "Show another hint (1 left)" })).toBeVisible();
  await expect(page.locator(".monaco-editor").first()).toBeVisible({ timeout: 60_000 });

  // An unknown lab is the app's own 404 page, with a way back.
  const missing = await page.goto("/labs/no-such-lab");
  expect(missing?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "This page does not exist" })).toBeVisible();
  await page.getByRole("link", { name: "Back to the roadmap" }).click();
  await expect(page.getByRole("heading", { name: "The backend roadmap, lab by lab" })).toBeVisible();
  expect(foreignRequests).toEqual([]);
});

test("Run is disabled while a Run is in flight, survives a lost answer, and Cancel really stops it", async ({
  page,
}) => {
  const email = `canceller-${Date.now()}@example.com`;
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);
  await page.goto(`/labs/${labId}`);
  await expect(page.locator(".monaco-editor .view-lines").first()).toContainText("import", {
    timeout: 60_000,
  });

  // Code that keeps its process busy for two minutes while it loads: the grade waits on it, long enough
  // to cancel by hand.
  await pasteIntoEditor(page, `${starter}\nfor (const end = Date.now() + 120_000; Date.now() < end; );\n`);
  // The first Run reaches the server but its answer is lost, as when Chromium drops requests on a network
  // change: the page sends the same Run again, and exactly one Run is queued (the history below counts 1).
  const runCall = "**/api/trpc/*submission.run*";
  let answersLost = 0;
  await page.route(runCall, async (route) => {
    if (answersLost++ > 0) return route.continue();
    await route.fetch();
    await route.abort("connectionreset");
  });
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await expect(page.locator(".run-button")).toBeDisabled();
  const cancel = page.getByRole("button", { name: "Cancel", exact: true });
  await expect(cancel).toBeEnabled();
  await expect(page.getByTestId("step-queued")).toBeVisible();
  expect(answersLost).toBe(2);
  await page.unroute(runCall);
  await cancel.click();

  const summary = page.getByTestId("result-summary");
  await expect(summary).toHaveAttribute("data-status", "cancelled", { timeout: 30_000 });
  await expect(summary).toContainText("You cancelled this Run");
  await expect(page.getByTestId("step-done")).toHaveAttribute("data-state", "skipped");
  await expect(page.locator(".run-button")).toBeEnabled();
  await expect(cancel).toBeHidden();
  const history = page.getByTestId("submission-history").getByRole("button");
  await expect(history).toHaveCount(1);
  await expect(history.first()).toContainText("cancelled");
  // Cancelled Runs no longer count against the learner's limit of 2 in flight: a third Run is accepted.
  for (const runs of [2, 3]) {
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await expect(cancel).toBeEnabled();
    await cancel.click();
    await expect(summary).toHaveAttribute("data-status", "cancelled", { timeout: 30_000 });
    await expect(history).toHaveCount(runs);
  }
  await expect(page.getByTestId("run-error")).toBeHidden();
});
