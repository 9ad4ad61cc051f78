import { expect, test } from "./fixtures.ts";
import { recordForeignRequests } from "./local-requests-only.ts";

test("sign-up shows the password rules first, refuses an easy password, and links to sign-in for a taken email", async ({
  page,
}) => {
  const foreignRequests = await recordForeignRequests(page);
  const email = `rules-${Date.now()}@example.com`;
  await page.goto("/sign-up");
  // The rules are on screen before the first submit, tied to the field for screen readers.
  const password = page.getByLabel("Password");
  await expect(page.locator("#password-rules")).toContainText("At least 10 characters");
  await expect(password).toHaveAttribute("aria-describedby", "password-rules");

  await page.getByLabel("Email").fill(email);
  await password.fill("1234567890");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.locator(".field-error")).toContainText("too easy to guess");

  await password.fill("copper kettle on a wet hill");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);

  // The same email again, signed out: the message offers the way in as a link.
  await page.context().clearCookies();
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("another copper kettle");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.locator(".form-error")).toContainText("An account with this email already exists.");
  await page.getByRole("link", { name: "Sign in instead" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  expect(foreignRequests).toEqual([]);
});
