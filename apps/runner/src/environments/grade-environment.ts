import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type GradingContext } from "@backend-labs/graders/grading-context";
import { type Lab, type ServiceName } from "@backend-labs/lab-format";
import Docker from "dockerode";
import semver from "semver";
import { libraryMounts } from "../sandbox/library-mounts.ts";
import { type LearnerContainerSettings } from "../sandbox/learner-container.ts";
import { sandboxImage } from "../sandbox/sandbox-image.ts";
import { WarmLearnerContainers } from "../sandbox/warm-learner-containers.ts";
import { createGradeNetwork, type GradeNetwork } from "../services/grade-network.ts";
import { environmentLabels, labelKeys } from "../services/resource-labels.ts";
import { runnerScratchDir } from "../host/runner-scratch.ts";
import { type ServicePlacement } from "../services/service-placement.ts";
import { type PreparedService, type ServiceServer, ServiceVersionError } from "../services/service-server.ts";
import { startServiceServer } from "../services/start-service-server.ts";
import { type EnvironmentShape } from "./environment-shape.ts";

/** Limits of each copy of the learner's code. */
export const learnerLimits = { memoryLimitMb: 512, cpus: 1, pidsLimit: 256, scratchMb: 64 } as const;

export interface EnvironmentSettings {
  id: string;
  shape: EnvironmentShape;
  /** node_modules of the labs package: the libraries learner code may import. */
  labsNodeModules: string;
  /** Learner containers kept waiting (Docker sandbox only). */
  warmCopies: number;
}

/** An environment made ready for one grade of a lab. */
export interface PreparedEnvironment {
  labId: string;
  /** Service settings for the learner's code (DATABASE_URL...). */
  learnerEnv: Record<string, string>;
  services: GradingContext["services"];
  versions: Record<string, { image: string; version: string }>;
}

/** Label on the containers that run learner code, which go after every grade (services may stay). */
const learnerRole = { key: "dev.backend-labs.role", value: "learner" } as const;

/**
 * Everything a grade runs against, apart from its own learner copies: for the Docker sandbox, an internal
 * network with the lab's services on it and learner containers waiting for a workspace; for the process
 * sandbox, services published on the host's loopback. An environment serves one grade at a time; between
 * grades `recycle()` makes it as good as new (see docs/architecture.md#grade-environments).
 */
export class GradeEnvironment implements AsyncDisposable {
  readonly id: string;
  readonly shape: EnvironmentShape;
  readonly placement: ServicePlacement;
  /** The host folder holding the current grade's learner files (mounted into learner containers). */
  readonly workspaceDir: string;
  readonly learnerContainer: LearnerContainerSettings | undefined;
  readonly warm: WarmLearnerContainers | undefined;
  private readonly network: GradeNetwork | undefined;
  private readonly servers = new Map<ServiceName, ServiceServer>();
  private readonly startedAt = new Map<string, string>();
  private prepared: PreparedEnvironment | undefined;
  private readonly docker = new Docker();

  private constructor(settings: EnvironmentSettings, network: GradeNetwork | undefined) {
    this.id = settings.id;
    this.shape = settings.shape;
    this.network = network;
    this.placement = network ? { kind: "grade-network", network: network.name } : { kind: "published" };
    this.workspaceDir = join(runnerScratchDir(), `environment-${settings.id}`);
    mkdirSync(this.workspaceDir, { recursive: true, mode: 0o755 });
    if (network) {
      this.learnerContainer = {
        image: sandboxImage(),
        network: network.name,
        workspaceDir: this.workspaceDir,
        libraries: libraryMounts(settings.labsNodeModules),
        labels: { ...environmentLabels(settings.id), [learnerRole.key]: learnerRole.value },
        ...learnerLimits,
      };
      this.warm = new WarmLearnerContainers(this.docker, this.learnerContainer, settings.warmCopies);
    }
  }

  /** Starts the network and the services (in parallel); if any fails, what did start is removed. */
  static async create(settings: EnvironmentSettings): Promise<GradeEnvironment> {
    const network = settings.shape.sandbox === "docker" ? await createGradeNetwork(settings.id) : undefined;
    const environment = new GradeEnvironment(settings, network);
    try {
      await Promise.all(settings.shape.services.map((name) => environment.startServer(name)));
      environment.warm?.fill();
      await environment.warm?.ready();
    } catch (error) {
      await environment[Symbol.asyncDispose]();
      throw error;
    }
    return environment;
  }

  /** The lab this environment was last prepared for, while no grade has used it since. */
  get preparedFor(): string | undefined {
    return this.prepared?.labId;
  }

  /** Fresh accounts, seed data and topics for one grade of `lab` (reused if already prepared for it). */
  async prepare(lab: Lab): Promise<PreparedEnvironment> {
    if (this.prepared?.labId === lab.manifest.id) return this.prepared;
    if (this.prepared) await this.recycle();
    const versions: PreparedEnvironment["versions"] = {};
    for (const server of this.servers.values()) {
      versions[server.name] = { image: server.image, version: server.version };
      const range = lab.manifest.services[server.name]?.version;
      const coerced = semver.coerce(server.version);
      if (range && coerced && !semver.satisfies(coerced, range))
        throw new ServiceVersionError(server.name, server.image, server.version, range);
    }
    const prepared = await Promise.all([...this.servers.values()].map((server) => server.prepare(lab)));
    const services: GradingContext["services"] = {};
    for (const service of prepared) assignAccess(services, service);
    this.prepared = {
      labId: lab.manifest.id,
      learnerEnv: Object.assign({}, ...prepared.map((service) => service.learnerEnv)) as Record<
        string,
        string
      >,
      services,
      versions,
    };
    return this.prepared;
  }

  /**
   * True when every service container is the one this environment started, still running (not restarted
   * by a Docker engine that came back, not killed by the OOM killer).
   */
  async healthy(): Promise<boolean> {
    try {
      for (const [id, startedAt] of this.startedAt) {
        const state = (await this.docker.getContainer(id).inspect()).State;
        if (!state.Running || state.StartedAt !== startedAt) return false;
      }
      if (this.network) await this.docker.getNetwork(this.network.name).inspect();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Makes the environment as good as new for the next grade: the last grade's learner containers and
   * files go; each service is reset, or replaced when it cannot be (Kafka) or its reset failed; waiting
   * learner containers are made anew.
   */
  async recycle(): Promise<void> {
    this.prepared = undefined;
    await this.warm?.clear();
    await this.removeLearnerContainers();
    rmSync(this.workspaceDir, { recursive: true, force: true });
    mkdirSync(this.workspaceDir, { recursive: true, mode: 0o755 });
    await Promise.all(
      [...this.servers.values()].map(async (server) => {
        if (server.reusable) {
          try {
            await server.reset();
            return;
          } catch {
            // Replaced below: a server that cannot be reset cleanly serves no other grade.
          }
        }
        await this.replaceServer(server);
      }),
    );
    this.warm?.fill();
    await this.warm?.ready();
  }

  private async startServer(name: ServiceName): Promise<void> {
    const server = await startServiceServer(name, this.placement, environmentLabels(this.id));
    this.servers.set(name, server);
    this.startedAt.set(
      server.containerId,
      (await this.docker.getContainer(server.containerId).inspect()).State.StartedAt,
    );
  }

  private async replaceServer(server: ServiceServer): Promise<void> {
    this.servers.delete(server.name);
    this.startedAt.delete(server.containerId);
    try {
      await server[Symbol.asyncDispose]();
    } catch {
      // Gone already; its replacement starts below either way.
    }
    await this.startServer(server.name);
  }

  private async removeLearnerContainers(): Promise<void> {
    const label = [`${labelKeys.environment}=${this.id}`, `${learnerRole.key}=${learnerRole.value}`];
    const containers = await this.docker.listContainers({ all: true, filters: { label } });
    await Promise.allSettled(
      containers.map((info) => this.docker.getContainer(info.Id).remove({ force: true })),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.warm?.[Symbol.asyncDispose]();
    if (this.network) await this.removeLearnerContainers().catch(() => undefined);
    await Promise.allSettled([...this.servers.values()].map((server) => server[Symbol.asyncDispose]()));
    this.servers.clear();
    // Whatever a failed start left created but not running (testcontainers does not remove those).
    const label = [`${labelKeys.environment}=${this.id}`];
    const leftovers = await Promise.resolve(
      this.docker.listContainers({ all: true, filters: { label } }),
    ).catch(() => []);
    await Promise.allSettled(
      leftovers.map((info) => this.docker.getContainer(info.Id).remove({ force: true, v: true })),
    );
    await this.network?.[Symbol.asyncDispose]();
    rmSync(this.workspaceDir, { recursive: true, force: true });
  }
}

function assignAccess(services: GradingContext["services"], service: PreparedService): void {
  if (service.name === "postgres") services.postgres = (service as PreparedService<"postgres">).access;
  else if (service.name === "redis") services.redis = (service as PreparedService<"redis">).access;
  else services.kafka = (service as PreparedService<"kafka">).access;
}
