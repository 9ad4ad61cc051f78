import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { ServiceLog } from "./service-log.ts";
import { placeService, type ServicePlacement, serviceEndpoints } from "./service-placement.ts";
import { type PreparedService, type ServiceServer, ServiceStartError } from "./service-server.ts";

export interface RedisServerSettings {
  image: string;
  labels: Record<string, string>;
  placement: ServicePlacement;
}

/**
 * What the learner's ACL user may run: every data command, but nothing that administers the server or
 * reaches beyond its data (CONFIG, DEBUG, MODULE, SHUTDOWN, FLUSHALL, KEYS, MONITOR, REPLICAOF...).
 * INFO stays allowed: clients such as ioredis send it to check the server is ready.
 */
const learnerAcl = ["on", "~*", "&*", "+@all", "-@admin", "-@dangerous", "+info"];
const learnerUser = "learner";

/**
 * One Redis server, nothing persisted, that serves one grade at a time. Graders use the default user
 * (behind a password only the runner knows); learner code an ACL user made fresh for every grade. Between
 * grades every client is disconnected and every key, script, function, user and changed setting removed.
 */
export async function startRedisServer(settings: RedisServerSettings): Promise<ServiceServer<"redis">> {
  const log = new ServiceLog();
  const adminPassword = randomBytes(12).toString("hex");
  let container: StartedTestContainer;
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
        .withLabels(settings.labels)
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
  const admin = new Redis(adminUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  // A lost connection is retried by ioredis; it must not crash the runner meanwhile.
  admin.on("error", () => undefined);

  let version: string;
  let initialConfig: Map<string, string>;
  try {
    await admin.connect();
    version = /redis_version:(\S+)/.exec(await admin.info("server"))?.[1] ?? "unknown";
    initialConfig = await readConfig(admin);
  } catch (error) {
    admin.disconnect();
    await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    throw new ServiceStartError("redis", settings.image, error, log.tail());
  }

  return {
    name: "redis",
    image: settings.image,
    version,
    containerId: container.getId(),
    reusable: true,

    async prepare(): Promise<PreparedService<"redis">> {
      const learnerPassword = randomBytes(12).toString("hex");
      await admin.call("ACL", "SETUSER", learnerUser, "reset", `>${learnerPassword}`, ...learnerAcl);
      return {
        name: "redis",
        learnerEnv: { REDIS_URL: url("learner", learnerUser, learnerPassword) },
        access: { adminUrl, learnerUrl: url("admin", learnerUser, learnerPassword) },
      };
    },

    async reset(): Promise<void> {
      // Users first, so no learner connection can come back while the data goes.
      const users = (await admin.call("ACL", "USERS")) as string[];
      for (const user of users.filter((name) => name !== "default")) await admin.call("ACL", "DELUSER", user);
      for (const type of ["normal", "pubsub", "replica"])
        await admin.call("CLIENT", "KILL", "TYPE", type, "SKIPME", "yes");
      await admin.call("CLIENT", "UNPAUSE");
      await admin.call("FLUSHALL", "SYNC");
      await admin.call("SCRIPT", "FLUSH", "SYNC");
      await admin.call("FUNCTION", "FLUSH", "SYNC");
      // A grader may have changed settings (CONFIG SET); put back every one that differs.
      const current = await readConfig(admin);
      for (const [name, value] of initialConfig) {
        if (current.get(name) !== value)
          await admin.call("CONFIG", "SET", name, value).catch(() => undefined);
      }
      await admin.call("CONFIG", "RESETSTAT");
      await admin.call("SLOWLOG", "RESET");
    },

    async [Symbol.asyncDispose](): Promise<void> {
      admin.disconnect();
      await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    },
  };
}

async function readConfig(client: Redis): Promise<Map<string, string>> {
  const flat = (await client.call("CONFIG", "GET", "*")) as string[];
  const config = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) config.set(flat[i]!, flat[i + 1]!);
  return config;
}
