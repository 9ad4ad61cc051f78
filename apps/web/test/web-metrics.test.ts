import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRouterHarness } from "./support/router-harness.ts";

let harness: Awaited<ReturnType<typeof startRouterHarness>>;
beforeAll(async () => {
  harness = await startRouterHarness({ runsPerMinute: 6, runsInFlight: 1 });
});
afterAll(() => harness[Symbol.asyncDispose]());

const labId = "concurrent-transfers";
const files = { "src/bank.ts": "export {};" };

/** One series' samples as Prometheus scrapes them: "name{labels} value" lines. */
async function scraped(name: string): Promise<string[]> {
  const text = await harness.metrics.registry.metrics();
  return text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe("the web app's metrics", () => {
  it("time each API call by procedure and status, and count refusals by limit", async () => {
    const { sessionToken } = await harness.signUp("measured@example.com");
    const { api } = await harness.call({ sessionToken });
    await api.submission.run({ labId, files });
    await expect(api.submission.run({ labId, files })).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });

    const counts = await scraped("backend_labs_http_request_duration_seconds_count");
    expect(counts).toContain(
      'backend_labs_http_request_duration_seconds_count{route="trpc submission.run",method="POST",status="200"} 1',
    );
    expect(counts).toContain(
      'backend_labs_http_request_duration_seconds_count{route="trpc submission.run",method="POST",status="429"} 1',
    );
    expect(await scraped("backend_labs_rate_limited_total")).toEqual([
      'backend_labs_rate_limited_total{limit="runs_in_flight"} 1',
    ]);
  });

  it("read the queue's depth by state from Postgres at each scrape", async () => {
    await harness.db.pool.query("UPDATE submissions SET state = 'finished', result_status = 'fail'");
    const { sessionToken } = await harness.signUp("queued@example.com");
    await (await harness.call({ sessionToken })).api.submission.run({ labId, files });
    expect(await scraped("backend_labs_queue_jobs")).toEqual(
      expect.arrayContaining([
        'backend_labs_queue_jobs{state="queued"} 1',
        'backend_labs_queue_jobs{state="running"} 0',
        'backend_labs_queue_jobs{state="finished"} 1',
        'backend_labs_queue_jobs{state="cancelled"} 0',
      ]),
    );
  });

  it("count failed sign-ins, and browsers following a Run while they follow it", async () => {
    const { sessionToken } = await harness.signUp("watcher@example.com", "the right passphrase");
    const { api } = await harness.call();
    await expect(
      api.auth.signIn({ email: "watcher@example.com", password: "a wrong one" }),
    ).rejects.toThrow();
    expect(await scraped("backend_labs_sign_in_failures_total")).toEqual([
      "backend_labs_sign_in_failures_total 1",
    ]);

    const signedIn = (await harness.call({ sessionToken })).api;
    await harness.db.pool.query("UPDATE submissions SET state = 'finished', result_status = 'fail'");
    const { id } = await signedIn.submission.run({ labId, files });
    const events = await signedIn.submission.watch({ id });
    const iterator = events[Symbol.asyncIterator]();
    await iterator.next(); // the "queued" event: the subscription is open
    expect(await scraped("backend_labs_live_subscriptions")).toEqual(["backend_labs_live_subscriptions 1"]);
    await iterator.return?.(); // the browser went away
    expect(await scraped("backend_labs_live_subscriptions")).toEqual(["backend_labs_live_subscriptions 0"]);
  });
});
