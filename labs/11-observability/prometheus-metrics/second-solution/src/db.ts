import pg from "pg";
import { dbQueryDurationSeconds } from "./metrics.ts";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is replaced on the next checkout; without a listener it would crash the process.
pool.on("error", (error) => console.warn(`idle postgres connection failed: ${error.message}`));

/** Runs one statement on the pool; `name` is a fixed name for it chosen by the caller. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  name: string,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  const start = process.hrtime.bigint();
  try {
    return await pool.query<R>(sql, params);
  } finally {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    dbQueryDurationSeconds.observe({ query: name }, seconds);
  }
}
