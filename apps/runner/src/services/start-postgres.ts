import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { GenericContainer, Wait } from "testcontainers";
import { ServiceLog } from "./service-log.ts";
import { placeService, type ServicePlacement, serviceEndpoints } from "./service-placement.ts";
import { gradeLabels, ServiceStartError, type StartedService } from "./started-service.ts";

export interface PostgresSettings {
  image: string;
  gradeId: string;
  labDir: string;
  seedFiles: string[];
  placement: ServicePlacement;
}

export interface StartedPostgres extends StartedService {
  adminUrl: string;
  learnerRoleUrl: string;
}

const learnerRole = "learner";
const labDatabase = "lab";

/**
 * One Postgres per grade. Graders connect as the superuser; learner code as a NOSUPERUSER role that owns
 * only the lab database (see docs/security.md). Seed SQL runs as that role, so the learner owns the tables it starts from.
 */
export async function startPostgres(settings: PostgresSettings): Promise<StartedPostgres> {
  const log = new ServiceLog();
  const adminPassword = randomBytes(12).toString("hex");
  const learnerPassword = randomBytes(12).toString("hex");
  let container;
  try {
    container = await placeService(
      new GenericContainer(settings.image)
        .withEnvironment({
          POSTGRES_USER: "admin",
          POSTGRES_PASSWORD: adminPassword,
          POSTGRES_DB: "postgres",
        })
        .withCommand([
          "postgres",
          "-c",
          "fsync=off",
          "-c",
          "synchronous_commit=off",
          "-c",
          "full_page_writes=off",
        ])
        // Printed once by the temporary server that runs the init scripts, then by the real one.
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .withLabels(gradeLabels(settings.gradeId))
        .withLogConsumer(log.consume)
        .withStartupTimeout(60_000),
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

  const admin = new pg.Client({ connectionString: url("admin", "admin", adminPassword, "postgres") });
  await admin.connect();
  let version: string;
  try {
    // No superuser, no server-side programs or files (COPY ... PROGRAM, pg_read_file), no other database,
    // and a connection cap that leaves room for the graders' admin connections.
    await admin.query(
      `CREATE ROLE ${learnerRole} LOGIN PASSWORD '${learnerPassword}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 80`,
    );
    await admin.query(`CREATE DATABASE ${labDatabase} OWNER ${learnerRole}`);
    await admin.query("REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC");
    version = (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  } finally {
    await admin.end();
  }

  // The learner's role as seen from the runner's side: for seeding, and for graders that act as the learner.
  const learnerRoleUrl = url("admin", learnerRole, learnerPassword, labDatabase);
  if (settings.seedFiles.length > 0) {
    // Seeded as the learner's role, so the learner owns what the seed creates.
    const learner = new pg.Client({ connectionString: learnerRoleUrl });
    await learner.connect();
    try {
      for (const file of settings.seedFiles)
        await learner.query(readFileSync(join(settings.labDir, file), "utf8"));
    } finally {
      await learner.end();
    }
  }

  return {
    name: "postgres",
    image: settings.image,
    version: version.split(" ")[0] ?? version,
    adminUrl: url("admin", "admin", adminPassword, labDatabase),
    learnerRoleUrl,
    learnerEnv: { DATABASE_URL: url("learner", learnerRole, learnerPassword, labDatabase) },
    [Symbol.asyncDispose]: async () => {
      await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    },
  };
}
