#!/usr/bin/env node
// `pnpm start`: the whole platform on one machine. Postgres (embedded unless DATABASE_URL is set), its
// migrations, the web app (built first when its sources changed) and runner workers, until Ctrl+C.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { applyMigrations } from "@backend-labs/db/apply-migrations";
import { startEmbeddedPostgres } from "@backend-labs/db/embedded-postgres";
import { buildWebApp, WebAppBuildError } from "./build-web-app.ts";
import { waitForHttp } from "./wait-for-http.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

const { values: flags } = parseFlags({
  options: {
    port: { type: "string", default: process.env.PORT ?? "3000" },
    host: { type: "string", default: "127.0.0.1" },
    workers: { type: "string", default: "1" },
    "data-dir": { type: "string", default: process.env.BACKEND_LABS_DATA_DIR ?? ".data/postgres" },
    dev: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  process.stdout.write(
    "usage: pnpm start [--port 3000] [--host 127.0.0.1] [--workers 1] [--data-dir .data/postgres] [--dev]\n" +
      "  Starts Postgres (embedded, data in .data/postgres, unless DATABASE_URL is set), applies migrations,\n" +
      "  builds and starts the web app, and starts runner workers (they need Docker).\n",
  );
  process.exit(0);
}
const port = Number(flags.port);
const workers = Number(flags.workers);
if (!Number.isInteger(port) || port < 1 || port > 65_535)
  fail(`--port must be a port number, not "${flags.port}"`);
if (!Number.isInteger(workers) || workers < 0 || workers > 16)
  fail(`--workers must be 0 to 16, not "${flags.workers}"`);

const webDir = join(repoRoot, "apps/web");
const children: ChildProcess[] = [];
let stopDatabase: () => Promise<void> = async () => {};
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log("stopping…");
    await Promise.all(children.map((child) => terminate(child)));
    await stopDatabase();
  }
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop(0));

let databaseUrl = process.env.DATABASE_URL;
if (databaseUrl) {
  log("using the database in DATABASE_URL");
} else {
  const dataDir = resolve(repoRoot, flags["data-dir"]);
  log(`starting embedded Postgres (data in ${dataDir})…`);
  const embedded = await startEmbeddedPostgres({ dataDir }).catch((error: unknown) =>
    fail(
      `${(error as Error).message}\n(--data-dir puts the embedded database elsewhere; DATABASE_URL uses your own)`,
    ),
  );
  stopDatabase = () => embedded.stop();
  databaseUrl = embedded.url;
}
const { applied } = await applyMigrations(databaseUrl).catch(async (error: unknown) => {
  await stopDatabase();
  return fail(`could not apply the database migrations: ${(error as Error).message}`);
});
log(applied.length > 0 ? `applied migrations: ${applied.join(", ")}` : "database schema is up to date");

const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  BACKEND_LABS_LABS_DIR: process.env.BACKEND_LABS_LABS_DIR ?? join(repoRoot, "labs"),
  NEXT_TELEMETRY_DISABLED: "1",
};
const nextBin = join(webDir, "node_modules/next/dist/bin/next");
if (!flags.dev) await buildQuietly();
const web = spawn(
  process.execPath,
  [nextBin, flags.dev ? "dev" : "start", "--port", String(port), "--hostname", flags.host],
  { cwd: webDir, env: { ...env, NODE_ENV: flags.dev ? "development" : "production" }, stdio: "inherit" },
);
children.push(web);
web.once("exit", (code) => {
  if (!stopping) {
    log(`the web app stopped (exit ${code}); stopping the platform`);
    void stop(code ?? 1);
  }
});

const runnerCli = join(repoRoot, "apps/runner/src/cli/main.ts");
for (let index = 0; index < workers; index++) {
  // kafkajs (the runner creates lab topics with it) sets negative timers on Node 24 when it closes: a
  // harmless warning that read like a failure on every stop.
  const worker = spawn(process.execPath, ["--disable-warning=TimeoutNegativeWarning", runnerCli, "worker"], {
    cwd: repoRoot,
    env,
    stdio: "inherit",
  });
  children.push(worker);
  worker.once("exit", (code) => {
    if (!stopping) {
      log(
        `runner worker ${index + 1} stopped (exit ${code}): runs stay queued until a worker runs. ` +
          "Workers need Docker (on Debian: bash infra/docker/start-dockerd.sh), then restart `pnpm start`.",
      );
    }
  });
}

const url = `http://${flags.host === "0.0.0.0" ? "127.0.0.1" : flags.host}:${port}`;
await waitForHttp(`${url}/api/trpc/auth.me`, 120_000);
log(`Backend Labs is running at ${url}  (Ctrl+C stops it)`);
if (!existsSync(join(repoRoot, "labs/node_modules")))
  log("warning: labs/node_modules is missing: run `pnpm install`");

async function buildQuietly(): Promise<void> {
  log("building the web app, or restoring it from turbo's cache when nothing it uses changed…");
  try {
    const build = await buildWebApp(repoRoot, env);
    log(
      build.cached
        ? `the web app is up to date (restored from turbo's cache in ${build.seconds.toFixed(0)} s)`
        : `built the web app in ${build.seconds.toFixed(0)} s` +
            (build.warnings > 0 ? ` (${build.warnings} build warning(s), in ${build.logFile})` : ""),
    );
  } catch (error) {
    if (!(error instanceof WebAppBuildError)) throw error;
    process.stderr.write(error.output);
    log(`${error.message}; turbo's output is above`);
    await stop(1);
  }
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

function log(message: string): void {
  process.stderr.write(`backend-labs: ${message}\n`);
}

/** parseArgs, with a wrong flag reported as a usage error instead of a stack trace. */
function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    return fail(`${(error as Error).message} (pnpm start --help lists the flags)`);
  }
}

function fail(message: string): never {
  log(message);
  process.exit(2);
}
