import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { GenericContainer, Wait } from "testcontainers";
import { ServiceLog } from "./service-log.ts";
import { placeService, type ServicePlacement, serviceEndpoints } from "./service-placement.ts";
import { gradeLabels, ServiceStartError, type StartedService } from "./started-service.ts";

export interface RedisSettings {
  image: string;
  gradeId: string;
  placement: ServicePlacement;
}

export interface StartedRedis extends StartedService {
  adminUrl: string;
  learnerRoleUrl: string;
}

/**
 * What the learner's ACL user may run: every data command, but nothing that administers the server or
 * reaches beyond its data (CONFIG, DEBUG, MODULE, SHUTDOWN, FLUSHALL, KEYS, MONITOR, REPLICAOF...).
 * INFO stays allowed: clients such as ioredis send it to check the server is ready.
 */
const learnerAcl = ["on", "~*", "&*", "+@all", "-@admin", "-@dangerous", "+info"];

/** One Redis per grade, nothing persisted. Graders use the default user; learner code an ACL user. */
export async function startRedis(settings: RedisSettings): Promise<StartedRedis> {
  const log = new ServiceLog();
  const adminPassword = randomBytes(12).toString("hex");
  const learnerPassword = randomBytes(12).toString("hex");
  let container;
  try {
    container = await placeService(
      new GenericContainer(settings.image)
        .withCommand([
          "redis-server",
          "--protected-mode",
          "no",
          "--save",
          "",
          "--appendonly",
          "no",
          "--requirepass",
          adminPassword,
        ])
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
        .withLabels(gradeLabels(settings.gradeId))
        .withLogConsumer(log.consume)
        .withStartupTimeout(30_000),
      settings.placement,
      "redis",
      6379,
    ).start();
  } catch (error) {
    throw new ServiceStartError("redis", settings.image, error, log.tail());
  }
  const endpoints = serviceEndpoints(container, settings.placement, "redis", 6379);
  const url = (side: "admin" | "learner", user: string, password: string) =>
    `redis://${user}:${password}@${endpoints[side].host}:${endpoints[side].port}`;
  const adminUrl = url("admin", "default", adminPassword);
  const client = new Redis(adminUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let version: string;
  try {
    await client.connect();
    await client.call("ACL", "SETUSER", "learner", "reset", `>${learnerPassword}`, ...learnerAcl);
    version = /redis_version:(\S+)/.exec(await client.info("server"))?.[1] ?? "unknown";
  } finally {
    client.disconnect();
  }
  return {
    name: "redis",
    image: settings.image,
    version,
    adminUrl,
    learnerRoleUrl: url("admin", "learner", learnerPassword),
    learnerEnv: { REDIS_URL: url("learner", "learner", learnerPassword) },
    [Symbol.asyncDispose]: async () => {
      await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    },
  };
}
