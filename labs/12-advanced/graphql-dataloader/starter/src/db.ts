import pg from "pg";

/**
 * One pool per process: connections are expensive and safe to share between requests. (Loaders are the
 * opposite: cheap, and they cache what one request has seen.) Ids are bigint, which pg returns as strings:
 * exactly what GraphQL's ID type serialises to.
 */
export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is reported here; unhandled, it would kill the process.
pool.on("error", (error) => console.error("postgres pool error:", error.message));
