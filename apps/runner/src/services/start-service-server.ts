import { type ServiceName } from "@backend-labs/lab-format";
import { startKafkaBroker } from "./kafka-broker.ts";
import { startPostgresServer } from "./postgres-server.ts";
import { startRedisServer } from "./redis-server.ts";
import { serviceImage } from "./service-images.ts";
import { type ServicePlacement } from "./service-placement.ts";
import { type ServiceServer } from "./service-server.ts";

/** Starts the container of one service, from the configured image. */
export function startServiceServer(
  service: ServiceName,
  placement: ServicePlacement,
  labels: Record<string, string>,
): Promise<ServiceServer> {
  const settings = { image: serviceImage(service), placement, labels };
  switch (service) {
    case "postgres":
      return startPostgresServer(settings);
    case "redis":
      return startRedisServer(settings);
    case "kafka":
      return startKafkaBroker(settings);
  }
}
