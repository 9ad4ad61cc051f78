import getPort from "get-port";
import { Kafka, logLevel } from "kafkajs";
import { GenericContainer, Wait } from "testcontainers";
import { ServiceLog } from "./service-log.ts";
import { gradeLabels, ServiceStartError, type StartedService } from "./started-service.ts";

export interface KafkaSettings {
  image: string;
  gradeId: string;
  topics: { name: string; partitions: number }[];
}

export interface StartedKafka extends StartedService {
  brokers: string[];
}

/**
 * One single-node KRaft broker per grade, configured through the official apache/kafka image's KAFKA_*
 * variables. Clients must reach the broker at the address it advertises, so the host port is chosen first
 * and advertised as is.
 */
export async function startKafka(settings: KafkaSettings): Promise<StartedKafka> {
  const log = new ServiceLog(400);
  const hostPort = await getPort({ host: "127.0.0.1" });
  const broker = `127.0.0.1:${hostPort}`;
  let container;
  try {
    container = await new GenericContainer(settings.image)
      .withEnvironment({
        KAFKA_NODE_ID: "1",
        KAFKA_PROCESS_ROLES: "broker,controller",
        KAFKA_LISTENERS: "PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093",
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${broker}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
        KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
        KAFKA_INTER_BROKER_LISTENER_NAME: "PLAINTEXT",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: "1",
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
        KAFKA_LOG_CLEANER_DEDUPE_BUFFER_SIZE: "8388608",
        KAFKA_HEAP_OPTS: "-Xmx384m -Xms256m",
      })
      .withExposedPorts({ container: 9092, host: hostPort })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withLabels(gradeLabels(settings.gradeId))
      .withLogConsumer(log.consume)
      .withStartupTimeout(60_000)
      .start();
  } catch (error) {
    throw new ServiceStartError("kafka", settings.image, error, log.tail());
  }

  if (settings.topics.length > 0) {
    const admin = new Kafka({ clientId: "runner", brokers: [broker], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: settings.topics.map(({ name, partitions }) => ({ topic: name, numPartitions: partitions })),
      });
    } finally {
      await admin.disconnect();
    }
  }

  return {
    name: "kafka",
    image: settings.image,
    version: log.find(/Kafka version: (\S+)/)?.[1] ?? "unknown",
    brokers: [broker],
    learnerEnv: { KAFKA_BROKERS: broker },
    [Symbol.asyncDispose]: async () => {
      await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    },
  };
}
