import { test as base } from "@playwright/test";

export { expect, type Page, type TestInfo } from "@playwright/test";

/**
 * Playwright's `test`, with every request the page saw fail written to the test's output, so a test that
 * fails on a lost request names it (Chromium drops requests with ERR_NETWORK_CHANGED whenever Docker adds
 * or removes a network on the same machine). Requests a test aborts on purpose show up too; cancelled
 * ones (ERR_ABORTED) do not.
 */
export const test = base.extend<{ failedRequestLog: void }>({
  failedRequestLog: [
    async ({ page }, use) => {
      page.on("requestfailed", (request) => {
        const error = request.failure()?.errorText;
        // Navigations cancel Next's prefetches all the time; those are no clue.
        if (error !== "net::ERR_ABORTED")
          console.log(`request failed: ${request.method()} ${request.url()}: ${error}`);
      });
      await use();
    },
    { auto: true },
  ],
});
