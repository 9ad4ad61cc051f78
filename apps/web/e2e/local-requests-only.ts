import type { Page } from "@playwright/test";

const localHosts = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Records (and blocks) every request the page makes to a host other than this machine: the lab page
 * must load Monaco and every other asset from the app's own server.
 */
export async function recordForeignRequests(page: Page): Promise<string[]> {
  const foreign: string[] = [];
  await page.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (["http:", "https:", "ws:", "wss:"].includes(url.protocol) && !localHosts.has(url.hostname)) {
      foreign.push(url.href);
      await route.abort("blockedbyclient");
      return;
    }
    await route.continue();
  });
  return foreign;
}
