import pg from "pg";
import { log } from "./logger.ts";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is replaced on the next checkout; without a listener it would crash the process.
pool.on("error", (error) => log.warn("idle postgres connection failed", { err: error }));

/** Runs one statement on the pool. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  const start = performance.now();
  // A failed statement is rethrown as it is: the request boundary logs it, once.
  const result = await pool.query<R>(sql, params);
  log.debug("db query", {
    sql,
    duration_ms: Math.round((performance.now() - start) * 1000) / 1000,
    rows: result.rowCount,
  });
  return result;
}
