import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Lab } from "@backend-labs/lab-format";
import pg from "pg";
import { postgresContainer } from "@backend-labs/service-containers";
import { type StartedTestContainer } from "testcontainers";
import { ServiceLog } from "./service-log.ts";
import { placeService, type ServicePlacement, serviceEndpoints } from "./service-placement.ts";
import { type PreparedService, type ServiceServer, ServiceStartError } from "./service-server.ts";

export interface PostgresServerSettings {
  image: string;
  labels: Record<string, string>;
  placement: ServicePlacement;
}

const adminUser = "admin";
const learnerRole = "learner";
const labDatabase = "lab";
/** Databases every Postgres server has; anything else a grade made. */
const builtInDatabases = ["postgres", "template0", "template1"];

/**
 * One Postgres server that serves one grade at a time. Graders connect as the superuser; learner code as a
 * NOSUPERUSER role that owns only the lab database (see docs/security.md). Both are made fresh for every
 * grade and dropped afterwards, together with every database, role and session the grade left.
 */
export async function startPostgresServer(
  settings: PostgresServerSettings,
): Promise<ServiceServer<"postgres">> {
  const log = new ServiceLog();
  const adminPassword = randomBytes(12).toString("hex");
  let container: StartedTestContainer;
  try {
    container = await placeService(
      postgresContainer({
        image: settings.image,
        user: adminUser,
        password: adminPassword,
        database: "postgres",
      })
        .withLabels(settings.labels)
        .withLogConsumer(log.consume),
      settings.placement,
      "postgres",
      5432,
    ).start();
  } catch (error) {
    throw new ServiceStartError("postgres", settings.image, error, log.tail());
  }
  const endpoints = serviceEndpoints(container, settings.placement, "postgres", 5432);
  const url = (side: "admin" | "learner", user: string, password: string, database: string) =>
    `postgres://${user}:${password}@${endpoints[side].host}:${endpoints[side].port}/${database}`;
  const admin = new pg.Pool({ connectionString: url("admin", adminUser, adminPassword, "postgres"), max: 1 });
  // A connection the reset itself terminates, or one cut when the server goes away, must not crash the runner.
  admin.on("error", () => undefined);

  let version: string;
  try {
    // The learner's role may reach only its own database.
    await admin.query("REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC");
    version = (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  } catch (error) {
    await admin.end();
    await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    throw new ServiceStartError("postgres", settings.image, error, log.tail());
  }

  return {
    name: "postgres",
    image: settings.image,
    version: version.split(" ")[0] ?? version,
    containerId: container.getId(),
    reusable: true,

    async prepare(lab: Lab): Promise<PreparedService<"postgres">> {
      const learnerPassword = randomBytes(12).toString("hex");
      // No superuser, no server-side programs or files (COPY ... PROGRAM, pg_read_file), no other database,
      // and a connection cap that leaves room for the graders' admin connections.
      await admin.query(
        `CREATE ROLE ${learnerRole} LOGIN PASSWORD '${learnerPassword}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 80`,
      );
      await admin.query(`CREATE DATABASE ${labDatabase} OWNER ${learnerRole}`);
      // The learner's role as seen from the runner's side: for seeding, and for graders that act as the learner.
      const learnerRoleUrl = url("admin", learnerRole, learnerPassword, labDatabase);
      const seeds = lab.manifest.services.postgres?.seed ?? [];
      if (seeds.length > 0) {
        // Seeded as the learner's role, so the learner owns what the seed creates.
        const learner = new pg.Client({ connectionString: learnerRoleUrl });
        await learner.connect();
        try {
          for (const file of seeds) await learner.query(readFileSync(join(lab.dir, file), "utf8"));
        } finally {
          await learner.end();
        }
      }
      return {
        name: "postgres",
        learnerEnv: { DATABASE_URL: url("learner", learnerRole, learnerPassword, labDatabase) },
        access: { adminUrl: url("admin", adminUser, adminPassword, labDatabase), learnerUrl: learnerRoleUrl },
      };
    },

    async reset(): Promise<void> {
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
      );
      for (const { gid } of (await admin.query<{ gid: string }>("SELECT gid FROM pg_prepared_xacts")).rows)
        await admin.query(`ROLLBACK PREPARED '${gid.replaceAll("'", "''")}'`);
      const databases = await admin.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE NOT (datname = ANY($1))",
        [builtInDatabases],
      );
      for (const { datname } of databases.rows)
        await admin.query(`DROP DATABASE ${quoteIdent(datname)} WITH (FORCE)`);
      const roles = await admin.query<{ rolname: string }>(
        "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> $1",
        [adminUser],
      );
      for (const { rolname } of roles.rows) await admin.query(`DROP ROLE ${quoteIdent(rolname)}`);
      // Whatever a grader changed in the server's or its own settings goes back to the defaults.
      await admin.query("ALTER SYSTEM RESET ALL");
      await admin.query(`ALTER ROLE ${adminUser} RESET ALL`);
      await admin.query("SELECT pg_reload_conf()");
    },

    async [Symbol.asyncDispose](): Promise<void> {
      await admin.end().catch(() => undefined);
      await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    },
  };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
