import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import getPort from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CallResponse, decode, encode } from "../src/learner-protocol.ts";

const harness = fileURLToPath(new URL("../src/learner-harness.ts", import.meta.url));
const sampleModule = fileURLToPath(new URL("./fixtures/sample-module.ts", import.meta.url));

let child: ChildProcess;
let baseUrl: string;
/** Bytes the harness's process wrote to its stdout and stderr, as its parent received them. */
let received = 0;

async function call(fn: string, ...args: unknown[]): Promise<CallResponse> {
  const response = await fetch(`${baseUrl}/call`, { method: "POST", body: encode({ fn, args }) });
  return decode<CallResponse>(await response.text());
}

beforeAll(async () => {
  const port = await getPort({ host: "127.0.0.1" });
  baseUrl = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [harness, sampleModule], {
    env: { ...process.env, BACKEND_LABS_RPC_PORT: String(port) },
  });
  for (const stream of [child.stdout, child.stderr])
    stream?.on("data", (chunk: Buffer) => (received += chunk.length));
  for (let attempt = 0; attempt < 100; attempt++) {
    if (
      await fetch(`${baseUrl}/exports`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(50);
  }
  throw new Error("harness did not start");
});

afterAll(async () => {
  child.kill("SIGKILL");
  await once(child, "exit");
});

describe("learner harness", () => {
  it("lists only the exported functions", async () => {
    const names = (await (await fetch(`${baseUrl}/exports`)).json()) as string[];
    expect(names.sort()).toEqual(["add", "big", "fail", "nextDay", "setting", "shout", "unsendable"]);
  });

  it("calls a function and returns its value", async () => {
    expect(await call("add", 2, 3)).toEqual({ ok: true, value: 5 });
  });

  it("keeps Dates and BigInts intact both ways", async () => {
    expect(await call("nextDay", new Date("2026-01-01T00:00:00Z"))).toEqual({
      ok: true,
      value: new Date("2026-01-02T00:00:00Z"),
    });
    expect(await call("big", 21n)).toEqual({ ok: true, value: 42n });
  });

  it("reports what the learner's function threw, with its type", async () => {
    const reply = await call("fail");
    expect(reply).toMatchObject({
      ok: false,
      kind: "threw",
      error: { name: "RangeError", message: "amount must be positive" },
    });
  });

  it("says which export is missing, also for non-function exports", async () => {
    const missing = await call("transfer");
    expect(missing).toMatchObject({ ok: false, kind: "missing-export" });
    expect(!missing.ok && missing.error.message).toContain("`transfer`");
    expect(await call("notAFunction")).toMatchObject({ ok: false, kind: "missing-export" });
  });

  it("says how many bytes the code has written to stdout and stderr, for the runner to wait for", async () => {
    expect(await call("shout", "héllo")).toEqual({ ok: true, value: undefined });
    const printed = (await (await fetch(`${baseUrl}/printed`)).json()) as number;
    expect(printed).toBeGreaterThanOrEqual(Buffer.byteLength("héllo\nhéllo ✓\n"));
    for (let attempt = 0; attempt < 100 && received < printed; attempt++) await sleep(10);
    expect(received).toBe(printed);
  });

  it("explains a return value that cannot be sent back", async () => {
    expect(await call("unsendable")).toMatchObject({ ok: false, kind: "unserializable" });
  });
});

describe("a waiting harness (--wait)", () => {
  let waiting: ChildProcess;
  let url: string;
  const token = "start-token-of-this-copy";

  beforeAll(async () => {
    const port = await getPort({ host: "127.0.0.1" });
    url = `http://127.0.0.1:${port}`;
    waiting = spawn(process.execPath, [harness, "--wait"], {
      env: { ...process.env, BACKEND_LABS_RPC_PORT: String(port), BACKEND_LABS_START_TOKEN: token },
    });
    for (let attempt = 0; attempt < 100; attempt++) {
      if (
        (await fetch(`${url}/exports`).then(
          (r) => r.status,
          () => 0,
        )) === 503
      )
        return;
      await sleep(50);
    }
    throw new Error("waiting harness did not listen");
  });

  afterAll(async () => {
    waiting.kill("SIGKILL");
    await once(waiting, "exit");
  });

  const start = (authorization: string) =>
    fetch(`${url}/start`, {
      method: "POST",
      headers: { authorization },
      body: JSON.stringify({ entry: sampleModule, env: { SAMPLE_SETTING: "from the start request" } }),
    });

  it("serves nothing until started, and refuses a start without its own token", async () => {
    expect((await fetch(`${url}/exports`)).status).toBe(503);
    expect((await start("Bearer someone-elses-token")).status).toBe(403);
    expect((await start("")).status).toBe(403);
    expect((await fetch(`${url}/exports`)).status).toBe(503);
  });

  it("starts once with its token, importing the entry with the environment it was given", async () => {
    expect((await start(`Bearer ${token}`)).status).toBe(202);
    for (let attempt = 0; attempt < 100 && (await fetch(`${url}/exports`)).status !== 200; attempt++)
      await sleep(50);
    const reply = await fetch(`${url}/call`, { method: "POST", body: encode({ fn: "setting", args: [] }) });
    expect(decode<CallResponse>(await reply.text())).toEqual({ ok: true, value: "from the start request" });
    expect((await start(`Bearer ${token}`)).status, "a second start is refused").toBe(409);
  });
});
