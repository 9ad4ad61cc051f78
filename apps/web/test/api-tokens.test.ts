import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET } from "../src/app/api/v1/submissions/[id]/route.ts";
import { POST } from "../src/app/api/v1/submissions/route.ts";
import { database } from "../src/server/db.ts";
import { platform } from "../src/server/platform.ts";
import { labsDir, startRouterHarness } from "./support/router-harness.ts";

const labId = "concurrent-transfers";
const files = { "src/bank.ts": "export {};" };
let harness: Awaited<ReturnType<typeof startRouterHarness>>;

beforeAll(async () => {
  harness = await startRouterHarness();
  // The REST routes use the process's platform, as in production: point it at the test database.
  Object.assign(process.env, {
    DATABASE_URL: harness.databaseUrl,
    BACKEND_LABS_LABS_DIR: labsDir,
    BACKEND_LABS_RUNS_PER_MINUTE: "3",
    BACKEND_LABS_RUNS_IN_FLIGHT: "2",
  });
});
afterAll(async () => {
  const processDatabase = database();
  await platform().events.close();
  await processDatabase.prisma.$disconnect();
  await processDatabase.pool.end();
  await harness[Symbol.asyncDispose]();
});

async function learnerWithToken(email: string) {
  const { sessionToken } = await harness.signUp(email);
  const { api } = await harness.call({ sessionToken });
  const made = await api.token.create({ name: "laptop" });
  return { api, token: made.token, tokenId: made.id };
}

function submit(token: string | undefined, body: unknown) {
  return POST(
    new Request("http://localhost:3000/api/v1/submissions", {
      method: "POST",
      headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

function status(token: string, id: string) {
  return GET(
    new Request(`http://localhost:3000/api/v1/submissions/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    }),
    { params: Promise.resolve({ id }) },
  );
}

describe("API tokens", () => {
  it("shows the secret once, lists the token without it, and stores only its hash", async () => {
    const { api, token, tokenId } = await learnerWithToken("token-maker@example.com");
    expect(token).toMatch(/^blt_[\w-]{43}$/);
    const listed = await api.token.list();
    expect(listed.map(({ createdAt: _made, ...row }) => row)).toEqual([
      { id: tokenId, name: "laptop", lastUsedAt: null },
    ]);
    const { rows } = await harness.db.pool.query<Record<string, unknown>>(
      "SELECT * FROM api_tokens WHERE id = $1",
      [tokenId],
    );
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0]!.token_hash).toBe(createHash("sha256").update(token).digest("hex"));
  });

  it("starts a Run that shows in the learner's history, and reads it back", async () => {
    const { api, token } = await learnerWithToken("from-cli@example.com");
    const reply = await submit(token, { labId, files });
    expect(reply.status).toBe(202);
    const { id, state, url } = (await reply.json()) as { id: string; state: string; url: string };
    expect(state).toBe("queued");
    expect(url).toBe(`http://localhost:3000/submissions/${id}`);
    expect((await api.submission.list({ labId })).map((row) => row.id)).toEqual([id]);

    const read = await status(token, id);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ id, labId, state: "queued", result: null });
    expect((await api.token.list())[0]!.lastUsedAt).toBeInstanceOf(Date);

    const other = await learnerWithToken("nosy@example.com");
    expect((await status(other.token, id)).status).toBe(404);
  });

  it("refuses a missing, wrong or revoked token with a message saying where to get one", async () => {
    const { api, token, tokenId } = await learnerWithToken("revoker@example.com");
    for (const bad of [undefined, "blt_not-a-real-token", token.replace(/.$/, "x")]) {
      const reply = await submit(bad, { labId, files });
      expect(reply.status).toBe(401);
      expect(((await reply.json()) as { error: string }).error).toMatch(/valid API token.*account page/);
    }
    expect(await api.token.revoke({ id: tokenId })).toEqual({ revoked: true });
    expect((await submit(token, { labId, files })).status).toBe(401);
    expect(await api.token.list()).toEqual([]);
    const stranger = await learnerWithToken("stranger@example.com");
    await expect(stranger.api.token.revoke({ id: tokenId })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("applies the checks and limits of a browser Run, with Retry-After on the per-minute limit", async () => {
    const { token } = await learnerWithToken("busy-cli@example.com");
    const bodyError = await submit(token, "{not json");
    expect(bodyError.status).toBe(400);
    expect(((await bodyError.json()) as { error: string }).error).toMatch(/JSON \{ id\?, labId, files/);
    expect((await submit(token, { labId: "no-such-lab", files })).status).toBe(404);
    const foreign = await submit(token, { labId, files: { "grader/1-accounts.test.ts": "" } });
    expect(foreign.status).toBe(400);
    expect(((await foreign.json()) as { error: string }).error).toMatch(/is not editable in this lab/);

    expect((await submit(token, { labId, files })).status).toBe(202);
    expect((await submit(token, { labId, files })).status).toBe(202);
    const inFlight = await submit(token, { labId, files });
    expect(inFlight.status).toBe(429);
    expect(((await inFlight.json()) as { error: string }).error).toMatch(/waiting or running/);

    await harness.db.pool.query(
      "UPDATE submissions SET state = 'finished', result_status = 'fail' WHERE user_id = (SELECT id FROM users WHERE email = $1)",
      ["busy-cli@example.com"],
    );
    expect((await submit(token, { labId, files })).status).toBe(202);
    const perMinute = await submit(token, { labId, files });
    expect(perMinute.status).toBe(429);
    expect(Number(perMinute.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await perMinute.json()) as { error: string }).error).toMatch(/3 times a minute/);
  });

  it("lets a learner hold at most 10 tokens", async () => {
    const { api } = await learnerWithToken("collector@example.com");
    for (let made = 1; made < 10; made++) await api.token.create({ name: `t${made}` });
    await expect(api.token.create({ name: "one too many" })).rejects.toThrow(/10 tokens already/);
  });
});
