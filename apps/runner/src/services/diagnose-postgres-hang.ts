import pg from "pg";

/**
 * When a call into the learner's code hangs, the database often says why: every connection the learner
 * holds sits idle (checked out of a pool and never released, so the next query waits for one forever), or
 * a transaction was left open. Returns that explanation, or undefined when the database shows nothing.
 */
export async function diagnosePostgresHang(adminUrl: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{
      held: number;
      idle: number;
      in_transaction: number;
      waiting: number;
    }>(
      `SELECT count(*)::int AS held,
              count(*) FILTER (WHERE state = 'idle')::int AS idle,
              count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int AS in_transaction,
              count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS waiting
         FROM pg_stat_activity WHERE usename = 'learner'`,
    );
    const { held = 0, idle = 0, in_transaction: inTransaction = 0, waiting = 0 } = rows[0] ?? {};
    if (waiting > 0 && inTransaction > 0) {
      return (
        `${waiting} of your queries waited for a lock held by one of your own transactions, which sat open ` +
        "doing nothing: commit or roll back (and release the client) before starting work that needs the same rows"
      );
    }
    if (inTransaction > 0) {
      return (
        `${inTransaction} of your database connections sat idle inside an open transaction: is a BEGIN never ` +
        "followed by COMMIT or ROLLBACK, or a client from pool.connect() never released (client.release())?"
      );
    }
    if (held >= 5 && idle === held) {
      return (
        `all ${held} database connections your code held were checked out and idle: is a client from ` +
        "pool.connect() never released (client.release())? The next query then waits for a free connection forever"
      );
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
