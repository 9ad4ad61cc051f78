import { randomUUID } from "node:crypto";
import { startTestDatabase } from "@backend-labs/db/testing";
import pg from "pg";
import { afterAll, beforeAll, beforeEach } from "vitest";

export interface QueueDatabase extends AsyncDisposable {
  url: string;
  pool: pg.Pool;
  /** A learner who owns the submissions the tests enqueue. */
  userId: string;
}

/** A migrated test Postgres with a pool and one learner; `await using db = await startQueueDatabase()`. */
export async function startQueueDatabase(): Promise<QueueDatabase> {
  const database = await startTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 12 });
  const userId = randomUUID();
  await pool.query(`INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'not-a-real-hash')`, [
    userId,
    `learner-${userId}@example.test`,
  ]);
  return {
    url: database.url,
    pool,
    userId,
    [Symbol.asyncDispose]: async () => {
      await pool.end();
      await database[Symbol.asyncDispose]();
    },
  };
}

/** Makes the job's lease run out now, as if its worker had died and time had passed. */
export async function expireLease(pool: pg.Pool, submissionId: string): Promise<void> {
  await pool.query(`UPDATE submissions SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [
    submissionId,
  ]);
}

/**
 * One queue database for the calling test file, emptied of submissions before each test. The handle is
 * filled in by beforeAll, so tests use it as it is: `const db = useQueueDatabase()`.
 */
export function useQueueDatabase(): QueueDatabase {
  const handle = {} as QueueDatabase;
  beforeAll(async () => {
    Object.assign(handle, await startQueueDatabase());
  });
  afterAll(async () => {
    await handle[Symbol.asyncDispose]?.();
  });
  beforeEach(async () => {
    await handle.pool.query("TRUNCATE submissions CASCADE");
  });
  return handle;
}
