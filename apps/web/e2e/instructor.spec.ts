import { expect, test } from "./fixtures.ts";
import { recordForeignRequests } from "./local-requests-only.ts";

test("an instructor reads each lab by title, with its failure rates per task and test", async ({ page }) => {
  const foreignRequests = await recordForeignRequests(page);
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill("teacher@example.com");
  await page.getByLabel("Password").fill("copper kettle on a wet hill");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText("teacher@example.com");

  await page.getByRole("link", { name: "Instructor" }).click();
  await expect(page.getByRole("heading", { name: "Labs at a glance" })).toBeVisible();
  await page.getByTestId("lab-stats").getByRole("link", { name: "Concurrent Money Transfers" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Concurrent Money Transfers" })).toBeVisible();
  await expect(page.getByTestId("lab-report-summary")).toContainText(/\d+ of \d+ learners passed/);
  await expect(page.getByRole("heading", { name: "Tests, most failed first" })).toBeVisible();
  expect(foreignRequests).toEqual([]);
});
