import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is replaced on the next checkout; without a listener it would crash the process.
pool.on("error", (error) => console.warn(`idle postgres connection failed: ${error.message}`));

/** Runs one statement on the pool; `name` is a fixed name for it chosen by the caller. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  name: string,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  // TODO 5: time every query, failed ones too, in db_query_duration_seconds{query=name}.
  void name;
  return pool.query<R>(sql, params);
}
