import { postgres } from "./service-clients.ts";

/**
 * How many sessions of the lab database are waiting for a lock right now. Graders that make a race
 * deterministic hold a lock, start the learner's concurrent calls, and wait until they queue on it.
 */
export async function lockWaiters(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND wait_event_type = 'Lock'`,
  );
  return rows[0]?.n ?? 0;
}
