// Runs your contract checks (api-checks.ts) against one implementation of the inventory API. Do not
// change it.
//
// The grader calls runChecksAgainst() with the source of hidden variants of inventory.ts. Locally, with a
// Postgres whose schema is fixtures/schema.sql:
//   DATABASE_URL=postgres://... node src/run-checks.ts                  your checks against src/inventory.ts
//   DATABASE_URL=postgres://... node src/run-checks.ts my-variant.ts    ... a copy you broke on purpose
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { registerHooks } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import type * as Checks from "./api-checks.ts";
import type * as Inventory from "./inventory.ts";

export interface CheckOutcome {
  /** true when checkApi threw: your checks flagged this implementation. */
  caught: boolean;
  message: string;
}

const moduleUnderTest = new URL("./inventory.ts", import.meta.url).href;
const checksModule = new URL("./api-checks.ts", import.meta.url).href;
/** Run number -> file URL of the implementation that run tests. */
const implementations = new Map<string, string>();
let runs = 0;

// Each run imports a fresh copy of your checks (`api-checks.ts?run=N`). Whatever that copy imports from
// ./inventory.ts is swapped for the implementation under test too, so the checks see one module, not two.
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    const run = context.parentURL ? new URL(context.parentURL).searchParams.get("run") : null;
    const implementation = run === null ? undefined : implementations.get(run);
    return resolved.url === moduleUnderTest && implementation
      ? { ...resolved, url: implementation }
      : resolved;
  },
});

function openPool(max: number): pg.Pool {
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) throw new Error("DATABASE_URL is not set");
  const pool = new pg.Pool({ connectionString, max });
  // An idle connection that breaks is reported here; unhandled, it would kill the process.
  pool.on("error", (error) => console.error("postgres pool error:", error.message));
  return pool;
}

/** The pool lent to your checks; close() frees it even if a check never released a client it took. */
function lendPool(): { pool: pg.Pool; close(): Promise<void> } {
  const pool = openPool(4);
  const checkedOut = new Set<pg.PoolClient>();
  pool.on("acquire", (client) => checkedOut.add(client));
  pool.on("release", (_error, client) => checkedOut.delete(client));
  return {
    pool,
    close: async () => {
      // A client never released keeps its transaction, and the row locks it holds, open for good.
      const leaked = [...checkedOut];
      await Promise.all(leaked.map((client) => client.end().catch(() => undefined)));
      const ended = pool.end();
      // The pool still counts the leaked clients as busy, so its end() would wait for them forever.
      if (leaked.length === 0) await ended;
      else ended.catch(() => undefined);
    },
  };
}

/**
 * Writes `source` (TypeScript) to a scratch file and imports it; empties the tables; serves the API it
 * builds on an ephemeral port of this process; runs your checkApi(baseUrl, db) against it.
 */
export async function runChecksAgainst(source: string): Promise<CheckOutcome> {
  const run = String(++runs);
  // The workspace is read-only; the system's temp folder is not.
  const dir = mkdtempSync(join(tmpdir(), "inventory-under-test-"));
  const file = join(dir, "inventory.ts");
  writeFileSync(file, source);
  implementations.set(run, pathToFileURL(file).href);
  // The API's own pool, and a separate one lent to your checks to inspect the tables.
  const apiDb = openPool(10);
  const checksDb = lendPool();
  try {
    await apiDb.query("TRUNCATE orders, products RESTART IDENTITY");
    const impl = (await import(implementations.get(run)!)) as typeof Inventory;
    const server = createServer(impl.createInventoryApi(apiDb));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      const checks = (await import(`${checksModule}?run=${run}`)) as typeof Checks;
      const checkApi: (baseUrl: string, db: pg.Pool) => void | Promise<void> = checks.checkApi;
      await checkApi(`http://127.0.0.1:${port}`, checksDb.pool);
      return { caught: false, message: "checkApi completed without throwing" };
    } catch (error) {
      return { caught: true, message: describe(error) };
    } finally {
      server.closeAllConnections();
      server.close();
    }
  } finally {
    implementations.delete(run);
    // The checks' pool first: requests of the API may be waiting for a lock one of its clients holds.
    await checksDb.close();
    await apiDb.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `threw a non-Error value: ${String(error)}`;
}

if (import.meta.main) {
  const target = process.argv[2] ? resolve(process.argv[2]) : fileURLToPath(moduleUnderTest);
  const outcome = await runChecksAgainst(readFileSync(target, "utf8"));
  console.log(outcome.caught ? `CAUGHT ${target}\n${outcome.message}` : `passed: ${target}`);
}
