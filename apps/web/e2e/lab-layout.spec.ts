import { expect, test } from "./fixtures.ts";

const labPath = "/labs/concurrent-transfers";

test("on a desktop the split between instructions and workbench drags, moves with the keys, and is kept", async ({
  page,
}) => {
  await page.goto(labPath);
  const separator = page.getByRole("separator", { name: "Resize the instructions" });
  await expect(separator).toHaveAttribute("aria-valuenow", "40");
  const brief = page.locator(".lab-brief");
  const before = (await brief.boundingBox())!.width;

  const handle = (await separator.boundingBox())!;
  await page.mouse.move(handle.x + handle.width / 2, handle.y + 100);
  await page.mouse.down();
  await page.mouse.move(handle.x + 250, handle.y + 100, { steps: 5 });
  await page.mouse.up();
  await expect.poll(async () => (await brief.boundingBox())!.width).toBeGreaterThan(before + 150);

  await separator.focus();
  const dragged = Number(await separator.getAttribute("aria-valuenow"));
  await page.keyboard.press("ArrowLeft");
  await expect(separator).toHaveAttribute("aria-valuenow", String(dragged - 5));
  await page.reload();
  await expect(separator).toHaveAttribute("aria-valuenow", String(dragged - 5));
});

test("on a phone the lab page shows one pane at a time under tabs, and the header does not wrap", async ({
  page,
}) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(labPath);
  const tabs = page.getByRole("tablist", { name: "Lab page" });
  await expect(tabs).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "Concurrent Money Transfers" })).toBeInViewport();
  await expect(page.locator(".editor-frame")).toBeHidden();
  const header = (await page.locator(".site-header").boundingBox())!;
  expect(header.height).toBeLessThan(60);

  await tabs.getByRole("tab", { name: "Code" }).click();
  await expect(page.locator(".editor-frame")).toBeInViewport();
  await expect(page.locator(".monaco-editor").first()).toBeVisible({ timeout: 60_000 });
  await expect(page.locator(".lab-brief")).toBeHidden();
  await expect(page.getByRole("button", { name: "Run", exact: true })).toBeInViewport();

  await tabs.getByRole("tab", { name: "Instructions" }).click();
  await expect(page.locator(".lab-brief")).toBeVisible();
  await expect(page.locator(".editor-frame")).toBeHidden();
});

test("the editor's suggestions open whole on the last line, at desktop and phone sizes", async ({ page }) => {
  for (const viewport of [
    { width: 1440, height: 1000 },
    { width: 390, height: 844 },
  ]) {
    await page.setViewportSize(viewport);
    await page.goto(labPath);
    if (viewport.width < 900)
      await page.getByRole("tablist", { name: "Lab page" }).getByRole("tab", { name: "Code" }).click();
    const editor = page.locator(".monaco-editor").first();
    await expect(editor.locator(".view-lines")).toContainText("import", { timeout: 60_000 });
    // Suggestions come from Monaco's TypeScript worker once the type definitions are in.
    await expect(page.getByText("Loading type definitions…")).toBeHidden({ timeout: 90_000 });
    await editor.click();
    await page.keyboard.press("ControlOrMeta+End");
    await page.keyboard.type("\nMath.");
    await page.keyboard.press("ControlOrMeta+Space");
    const suggestions = page.locator(".suggest-widget.visible");
    await expect(suggestions).toContainText("abs", { timeout: 60_000 });
    // Wholly visible: not cut off by the editor's frame, the results below it or the window.
    await expect(suggestions).toBeInViewport({ ratio: 1 });
  }
});
