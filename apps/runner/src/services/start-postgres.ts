import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PostgreSqlContainer } from "@testcontainers/postgresql";
import pg from "pg";
import { ServiceLog } from "./service-log.ts";
import { gradeLabels, ServiceStartError, type StartedService } from "./started-service.ts";

export interface PostgresSettings {
  image: string;
  gradeId: string;
  labDir: string;
  seedFiles: string[];
}

export interface StartedPostgres extends StartedService {
  adminUrl: string;
  learnerUrl: string;
}

const learnerRole = "learner";
const labDatabase = "lab";

/**
 * One Postgres per grade. Graders connect as the superuser; learner code as a NOSUPERUSER role that owns
 * only the lab database. Seed SQL runs as that role, so the learner owns the tables it starts from.
 */
export async function startPostgres(settings: PostgresSettings): Promise<StartedPostgres> {
  const log = new ServiceLog();
  const adminPassword = randomBytes(12).toString("hex");
  const learnerPassword = randomBytes(12).toString("hex");
  let container;
  try {
    container = await new PostgreSqlContainer(settings.image)
      .withUsername("admin")
      .withPassword(adminPassword)
      .withDatabase("postgres")
      .withCommand([
        "postgres",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
      ])
      .withLabels(gradeLabels(settings.gradeId))
      .withLogConsumer(log.consume)
      .withStartupTimeout(60_000)
      .start();
  } catch (error) {
    throw new ServiceStartError("postgres", settings.image, error, log.tail());
  }
  const url = (user: string, password: string, database: string) =>
    `postgres://${user}:${password}@${container.getHost()}:${container.getPort()}/${database}`;

  const admin = new pg.Client({ connectionString: url("admin", adminPassword, "postgres") });
  await admin.connect();
  let version: string;
  try {
    await admin.query(
      `CREATE ROLE ${learnerRole} LOGIN PASSWORD '${learnerPassword}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION`,
    );
    await admin.query(`CREATE DATABASE ${labDatabase} OWNER ${learnerRole}`);
    version = (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  } finally {
    await admin.end();
  }

  const learnerUrl = url(learnerRole, learnerPassword, labDatabase);
  if (settings.seedFiles.length > 0) {
    const learner = new pg.Client({ connectionString: learnerUrl });
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
    adminUrl: url("admin", adminPassword, labDatabase),
    learnerUrl,
    learnerEnv: { DATABASE_URL: learnerUrl },
    [Symbol.asyncDispose]: async () => {
      await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    },
  };
}
