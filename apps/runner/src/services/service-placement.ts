import { type ServiceName } from "@backend-labs/lab-format";
import { type GenericContainer, type StartedTestContainer } from "testcontainers";

/**
 * Where a grade's service containers live, which decides how each side reaches them:
 * - `grade-network` (with the Docker sandbox): only on the grade's internal network. Learner code dials the
 *   container's name on that network; the runner and graders dial its address from the host.
 * - `published` (with the process sandbox): on Docker's default bridge with the port published on the
 *   host's loopback, which both sides dial.
 */
export type ServicePlacement = { kind: "grade-network"; network: string } | { kind: "published" };

export interface ServiceAddress {
  host: string;
  port: number;
}

export interface ServiceEndpoints {
  /** How the runner and graders reach the service. */
  admin: ServiceAddress;
  /** How the learner's code reaches it. */
  learner: ServiceAddress;
}

export function containerName(placement: ServicePlacement, service: ServiceName): string | undefined {
  return placement.kind === "grade-network" ? `${placement.network}-${service}` : undefined;
}

/** Puts a service container where the placement says; `port` is the service's port in the container. */
export function placeService(
  container: GenericContainer,
  placement: ServicePlacement,
  service: ServiceName,
  port: number,
): GenericContainer {
  if (placement.kind === "published") return container.withExposedPorts(port);
  // Network mode (not aliases): testcontainers attaches aliased containers to the default bridge as well.
  return container.withNetworkMode(placement.network).withName(containerName(placement, service)!);
}

export function serviceEndpoints(
  started: StartedTestContainer,
  placement: ServicePlacement,
  service: ServiceName,
  port: number,
): ServiceEndpoints {
  if (placement.kind === "published") {
    const published = { host: started.getHost(), port: started.getMappedPort(port) };
    return { admin: published, learner: published };
  }
  return {
    admin: { host: started.getIpAddress(placement.network), port },
    learner: { host: containerName(placement, service)!, port },
  };
}
