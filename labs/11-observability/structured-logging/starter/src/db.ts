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
  // TODO 3: log one "db query" line per successful statement: sql, duration_ms, rows.
  return pool.query<R>(sql, params);
}
