import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, type TestInfo, test } from "./fixtures.ts";

const labPath = "/labs/concurrent-transfers";

/** axe-core's serious and critical findings on the page as it is now, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21aa"]).analyze();
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .flatMap((violation) =>
      violation.nodes.map(
        (node) =>
          `${violation.id} (${violation.impact}): ${node.target.join(" ")}: ${violation.help}. ` +
          (node.failureSummary ?? "").replace(/\s+/g, " "),
      ),
    );
}

async function keepScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

async function editorReady(page: Page): Promise<void> {
  await expect(page.locator(".monaco-editor .view-lines").first()).toContainText("import", {
    timeout: 60_000,
  });
}

test("home, lab, sign-in and instructor pages have no serious or critical accessibility violations", async ({
  page,
}) => {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto("/sign-in");
    await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
    expect(await seriousViolations(page), `/sign-in in ${scheme}`).toEqual([]);
  }

  await page.goto("/sign-up");
  await page.getByLabel("Email").fill("auditor@example.com");
  await page.getByLabel("Password").fill("brass lantern over a quiet bay");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText("auditor@example.com");

  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto("/");
    await expect(page.getByTestId("section-12")).toBeVisible();
    expect(await seriousViolations(page), `the roadmap in ${scheme}`).toEqual([]);

    await page.goto(labPath);
    await editorReady(page);
    expect(await seriousViolations(page), `the lab page in ${scheme}`).toEqual([]);

    await page.goto("/instructor");
    await expect(page.getByRole("heading", { name: "Labs at a glance" })).toBeVisible();
    expect(await seriousViolations(page), `/instructor in ${scheme}`).toEqual([]);
    await page.getByTestId("lab-stats").getByRole("link", { name: "Concurrent Money Transfers" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Concurrent Money Transfers" })).toBeVisible();
    expect(await seriousViolations(page), `an instructor's lab page in ${scheme}`).toEqual([]);
  }
});

test("screenshots of the home and lab pages at desktop and phone sizes, light and dark", async ({
  page,
}, testInfo) => {
  const sizes = { desktop: { width: 1366, height: 900 }, phone: { width: 390, height: 844 } };
  for (const [size, viewport] of Object.entries(sizes)) {
    await page.setViewportSize(viewport);
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto("/");
      await expect(page.getByTestId("section-1")).toBeVisible();
      await expect(page.locator("body")).toHaveCSS(
        "background-color",
        scheme === "light" ? "rgb(246, 248, 250)" : "rgb(15, 17, 21)",
      );
      await keepScreenshot(page, testInfo, `home-${size}-${scheme}`);
      await page.goto(labPath);
      if (size === "phone")
        await page.getByRole("tablist", { name: "Lab page" }).getByRole("tab", { name: "Code" }).click();
      await editorReady(page);
      await keepScreenshot(page, testInfo, `lab-${size}-${scheme}`);
    }
  }
  expect(testInfo.attachments.map((attachment) => attachment.name)).toHaveLength(8);
});
