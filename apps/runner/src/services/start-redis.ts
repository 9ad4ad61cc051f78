import { GenericContainer, Wait } from "testcontainers";
import { Redis } from "ioredis";
import { ServiceLog } from "./service-log.ts";
import { gradeLabels, ServiceStartError, type StartedService } from "./started-service.ts";

export interface StartedRedis extends StartedService {
  adminUrl: string;
  learnerUrl: string;
}

/** One Redis per grade, nothing persisted. */
export async function startRedis(image: string, gradeId: string): Promise<StartedRedis> {
  const log = new ServiceLog();
  let container;
  try {
    container = await new GenericContainer(image)
      .withCommand(["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"])
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .withLabels(gradeLabels(gradeId))
      .withLogConsumer(log.consume)
      .withStartupTimeout(30_000)
      .start();
  } catch (error) {
    throw new ServiceStartError("redis", image, error, log.tail());
  }
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let version: string;
  try {
    await client.connect();
    version = /redis_version:(\S+)/.exec(await client.info("server"))?.[1] ?? "unknown";
  } finally {
    client.disconnect();
  }
  return {
    name: "redis",
    image,
    version,
    adminUrl: url,
    learnerUrl: url,
    learnerEnv: { REDIS_URL: url },
    [Symbol.asyncDispose]: async () => {
      await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    },
  };
}
