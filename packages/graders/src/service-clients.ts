import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { gradingContext } from "./grading-context.ts";
import { aliasingSocketFactory } from "./kafka-host-aliases.ts";

/**
 * Admin clients for the lab's services, for graders to inspect and arrange state (rows, keys, TTLs,
 * topics, offsets). One of each per test file, closed after it.
 */
let postgresPool: pg.Pool | undefined;
let redisClient: Redis | undefined;
let kafkaClient: Kafka | undefined;

function required<T>(value: T | undefined, service: string): T {
  if (value === undefined) throw new Error(`this lab does not declare the ${service} service in lab.json`);
  return value;
}

export function postgres(): pg.Pool {
  postgresPool ??= new pg.Pool({
    connectionString: required(gradingContext().services.postgres, "postgres").adminUrl,
    max: 8,
  });
  return postgresPool;
}

export function redis(): Redis {
  redisClient ??= new Redis(required(gradingContext().services.redis, "redis").adminUrl, {
    lazyConnect: false,
  });
  return redisClient;
}

export function kafka(): Kafka {
  const { brokers, hostAliases } = required(gradingContext().services.kafka, "kafka");
  kafkaClient ??= new Kafka({
    clientId: "grader",
    brokers,
    socketFactory: aliasingSocketFactory(hostAliases),
    logLevel: logLevel.NOTHING,
  });
  return kafkaClient;
}

export async function closeServiceClients(): Promise<void> {
  const pool = postgresPool;
  const client = redisClient;
  postgresPool = undefined;
  redisClient = undefined;
  kafkaClient = undefined;
  await Promise.all([pool?.end(), client?.quit()]);
}
