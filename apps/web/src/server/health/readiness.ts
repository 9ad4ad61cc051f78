import { pendingMigrations } from "@backend-labs/db/pending-migrations";
import type pg from "pg";
import type { LabCatalog } from "../labs/lab-catalog.ts";

export interface ReadinessCheck {
  name: "database" | "migrations" | "catalog";
  ok: boolean;
  detail: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
}

/**
 * Whether this process can serve learners: its database answers, has every migration this code expects,
 * and the lab catalog has labs. A load balancer sends traffic only to ready replicas; each failing check
 * says why, so an operator reads the cause from the probe's body.
 */
export async function readiness(
  { pool, catalog, migrationsDir }: { pool: pg.Pool; catalog: LabCatalog; migrationsDir: string },
  { timeoutMs = 2_000 } = {},
): Promise<Readiness> {
  const database = await withTimeout(pool.query("SELECT 1"), timeoutMs).then(
    (): ReadinessCheck => ({ name: "database", ok: true, detail: "answers" }),
    (error: Error): ReadinessCheck => ({ name: "database", ok: false, detail: error.message }),
  );
  const migrations: ReadinessCheck = !database.ok
    ? { name: "migrations", ok: false, detail: "not checked: the database does not answer" }
    : await withTimeout(pendingMigrations(pool, migrationsDir), timeoutMs).then(
        (pending): ReadinessCheck =>
          pending.length === 0
            ? { name: "migrations", ok: true, detail: "all applied" }
            : { name: "migrations", ok: false, detail: `not applied: ${pending.join(", ")}` },
        (error: Error): ReadinessCheck => ({ name: "migrations", ok: false, detail: error.message }),
      );
  const { labs, invalid } = catalog.current();
  const labsCheck: ReadinessCheck = {
    name: "catalog",
    ok: labs.length > 0,
    detail: `${labs.length} labs${invalid.length > 0 ? `, ${invalid.length} invalid ones left out` : ""}`,
  };
  const checks = [database, migrations, labsCheck];
  return { ready: checks.every((check) => check.ok), checks };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
