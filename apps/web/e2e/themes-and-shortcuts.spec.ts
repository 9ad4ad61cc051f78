import { expect, test } from "./fixtures.ts";

const lightBackground = "rgb(246, 248, 250)";
const darkBackground = "rgb(15, 17, 21)";

test("the theme follows the system until the toggle pins one, which survives a reload", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "light" });
  await page.goto("/");
  const body = page.locator("body");
  await expect(body).toHaveCSS("background-color", lightBackground);
  await page.emulateMedia({ colorScheme: "dark" });
  await expect(body).toHaveCSS("background-color", darkBackground);

  // System -> Light: pinned against the system's dark preference, on this page and the next.
  const toggle = page.getByTestId("theme-toggle");
  await expect(toggle).toHaveText("Theme: System");
  await toggle.click();
  await expect(toggle).toHaveText("Theme: Light");
  await expect(body).toHaveCSS("background-color", lightBackground);
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
  await expect(body).toHaveCSS("background-color", lightBackground);

  // The editor follows the page: Monaco's light theme on a light page, its dark one after the toggle.
  await page.goto("/labs/concurrent-transfers");
  const editor = page.locator(".monaco-editor").first();
  await expect(editor).toBeVisible({ timeout: 60_000 });
  await expect(editor).toHaveClass(/\bvs\b/);
  await page.getByTestId("theme-toggle").click(); // Light -> Dark
  await expect(editor).toHaveClass(/\bvs-dark\b/);
  await expect(body).toHaveCSS("background-color", darkBackground);
});

test("? opens the keyboard shortcuts outside text fields, and Escape closes them", async ({ page }) => {
  await page.goto("/");
  await page.keyboard.press("?");
  const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(help).toBeVisible();
  await expect(help).toContainText("Run the lab's tests");
  await page.keyboard.press("Escape");
  await expect(help).toBeHidden();

  // Typed into a field, "?" is just a character.
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill("");
  await page.getByLabel("Email").press("?");
  await expect(help).toBeHidden();
  await expect(page.getByLabel("Email")).toHaveValue("?");
});
