import { aliasingSocketFactory } from "@backend-labs/graders/kafka-host-aliases";
import { type Lab } from "@backend-labs/lab-format";
import getPort from "get-port";
import { Kafka, logLevel } from "kafkajs";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { ServiceLog } from "./service-log.ts";
import { containerName, type ServicePlacement } from "./service-placement.ts";
import { type PreparedService, type ServiceServer, ServiceStartError } from "./service-server.ts";

export interface KafkaBrokerSettings {
  image: string;
  labels: Record<string, string>;
  placement: ServicePlacement;
}

/**
 * One single-node KRaft broker, configured through the official apache/kafka image's KAFKA_* variables,
 * that serves exactly one grade: a broker without ACLs lets any client change topics, groups and dynamic
 * configs, so no reset could prove it clean, and the environment replaces it instead (`reusable: false`).
 * Clients connect to the address the broker advertises. On a grade network that is the container's name
 * (the runner's side dials the container's address instead, through a socket factory); when published, a
 * host port chosen up front and advertised as is.
 */
export async function startKafkaBroker(settings: KafkaBrokerSettings): Promise<ServiceServer<"kafka">> {
  const log = new ServiceLog(400);
  const { placement } = settings;
  const name = containerName(placement, "kafka");
  const hostPort = placement.kind === "published" ? await getPort({ host: "127.0.0.1" }) : 9092;
  const broker = name ? `${name}:9092` : `127.0.0.1:${hostPort}`;
  let container: StartedTestContainer;
  try {
    let definition = new GenericContainer(settings.image)
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
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withLabels(settings.labels)
      .withLogConsumer(log.consume)
      .withStartupTimeout(60_000);
    definition =
      placement.kind === "published"
        ? definition.withExposedPorts({ container: 9092, host: hostPort })
        : definition.withNetworkMode(placement.network).withName(name!);
    container = await definition.start();
  } catch (error) {
    throw new ServiceStartError("kafka", settings.image, error, log.tail());
  }
  const hostAliases: Record<string, string> =
    placement.kind === "grade-network" ? { [name!]: container.getIpAddress(placement.network) } : {};

  return {
    name: "kafka",
    image: settings.image,
    version: log.find(/Kafka version: (\S+)/)?.[1] ?? "unknown",
    containerId: container.getId(),
    reusable: false,

    async prepare(lab: Lab): Promise<PreparedService<"kafka">> {
      const topics = lab.manifest.services.kafka?.topics ?? [];
      if (topics.length > 0) {
        const admin = new Kafka({
          clientId: "runner",
          brokers: [broker],
          socketFactory: aliasingSocketFactory(hostAliases),
          logLevel: logLevel.NOTHING,
        }).admin();
        await admin.connect();
        try {
          await admin.createTopics({
            waitForLeaders: true,
            topics: topics.map(({ name, partitions }) => ({ topic: name, numPartitions: partitions })),
          });
        } finally {
          await admin.disconnect();
        }
      }
      return {
        name: "kafka",
        learnerEnv: { KAFKA_BROKERS: broker },
        access: { brokers: [broker], hostAliases },
      };
    },

    reset(): Promise<void> {
      return Promise.reject(new Error("a Kafka broker serves one grade; replace it instead"));
    },

    async [Symbol.asyncDispose](): Promise<void> {
      await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    },
  };
}
