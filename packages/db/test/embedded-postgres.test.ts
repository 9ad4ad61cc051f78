import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import getPort from "get-port";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { applyMigrations } from "../src/apply-migrations.ts";
import { startEmbeddedPostgres } from "../src/embedded-postgres.ts";
import { createPrismaClient } from "../src/index.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "db-embedded-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The user the server runs as: the "postgres" system user when the tests run as root. */
function serverUid(): number {
  const ownUid = userInfo().uid;
  return ownUid === 0 ? Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()) : ownUid;
}

async function start(dataDir: string, port?: number) {
  const postgres = await startEmbeddedPostgres(port === undefined ? { dataDir } : { dataDir, port });
  cleanups.push(() => postgres.stop());
  return postgres;
}

describe("startEmbeddedPostgres", () => {
  it("keeps the migrated schema and its data across a stop and a start on the same data directory", async () => {
    const dataDir = await newDataDir();
    const first = await start(dataDir);
    expect(new URL(first.url)).toMatchObject({ hostname: "127.0.0.1", pathname: "/backend_labs" });
    expect((await applyMigrations(first.url)).applied).toContain("20261124221741_init");
    const prisma = createPrismaClient(first.url, { maxConnections: 1 });
    await prisma.user.create({ data: { email: "kept@example.test", passwordHash: "h" } });
    await prisma.$disconnect();
    await first.stop();

    const second = await start(dataDir);
    expect(await applyMigrations(second.url)).toEqual({ applied: [] });
    const again = createPrismaClient(second.url, { maxConnections: 1 });
    const users = await again.user.findMany({ select: { email: true } });
    await again.$disconnect();
    expect(users).toEqual([{ email: "kept@example.test" }]);
  });

  it("listens on the port it is given", async () => {
    const port = await getPort({ host: "127.0.0.1" });
    const postgres = await start(await newDataDir(), port);
    expect(new URL(postgres.url).port).toBe(String(port));
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    const { rows } = await client.query<{ port: string }>("SHOW port");
    await client.end();
    expect(rows).toEqual([{ port: String(port) }]);
  });

  it("refuses a data directory that a running instance holds, saying so", async () => {
    const dataDir = await newDataDir();
    await start(dataDir);
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(
      /in use by a running Postgres \(PID \d+\)/,
    );
  });

  it("starts over a postmaster.pid left behind by a crash", async () => {
    const dataDir = await newDataDir();
    const first = await start(dataDir);
    await first.stop();
    // After a crash (and a reboot, or in a container) the file's PID may belong to an unrelated live
    // process of the server's own user, which Postgres itself takes for a running server. (It ignores
    // its parent's PID and other users' processes.)
    const unrelated = spawn("sleep", ["60"], { stdio: "ignore", uid: serverUid() });
    cleanups.push(() => unrelated.kill());
    await writeFile(path.join(dataDir, "pgdata", "postmaster.pid"), `${unrelated.pid}\n${dataDir}/pgdata\n`);

    const second = await start(dataDir);
    const client = new pg.Client({ connectionString: second.url });
    await client.connect();
    const { rows } = await client.query<{ ok: number }>("SELECT 1 AS ok");
    await client.end();
    expect(rows).toEqual([{ ok: 1 }]);
  });
});
