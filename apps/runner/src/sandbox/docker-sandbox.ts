import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { constants } from "node:os";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { gradeLabels } from "../services/started-service.ts";
import { harnessPath } from "./harness-path.ts";
import {
  containerPorts,
  type CopyExit,
  type LaunchRequest,
  type LearnerCopy,
  type LearnerSandbox,
} from "./learner-sandbox.ts";

export interface DockerSandboxSettings {
  image: string;
  gradeId: string;
  /** The grade's internal network: the copy reaches its services by name and nothing else. */
  network: string;
  workspaceDir: string;
  entry: string;
  /** node_modules of the labs package: the libraries learner code may import. */
  labsNodeModules: string;
  memoryLimitMb: number;
  cpus: number;
  pidsLimit: number;
  scratchMb: number;
}

/**
 * Where the workspace is mounted. Not its host path: that lies under the host's /tmp, which the container's
 * own /tmp (a tmpfs) would hide.
 */
const containerWorkspace = "/workspace";
/** The unprivileged user of the official node image. */
const sandboxUser = "1000:1000";

/**
 * Each copy of the learner's code runs in its own container: a non-root user, every capability dropped,
 * no-new-privileges, a read-only root filesystem, a size-capped tmpfs for scratch, memory (and swap) and
 * pids and CPU limits, on the grade's internal network only. The workspace is mounted read-only at
 * /workspace, the libraries read-only at their host paths (the workspace's node_modules link points there). Output reaches the
 * runner through an attach stream (no log file that a chatty copy could grow). See docs/security.md.
 */
export class DockerSandbox implements LearnerSandbox {
  readonly kind = "docker";
  private readonly docker = new Docker();
  private readonly settings: DockerSandboxSettings;

  constructor(settings: DockerSandboxSettings) {
    this.settings = settings;
  }

  async launch({ id, env, onOutput }: LaunchRequest): Promise<LearnerCopy> {
    const { image, gradeId, network, workspaceDir, entry, memoryLimitMb, cpus, pidsLimit, scratchMb } =
      this.settings;
    const memoryBytes = memoryLimitMb * 1024 * 1024;
    const container = await this.docker.createContainer({
      name: `${network}-${id}`,
      Image: image,
      User: sandboxUser,
      WorkingDir: containerWorkspace,
      Cmd: [
        "node",
        // The heap stays below the container's limit so that a runaway allocation fails in V8 with a
        // message, before the kernel's OOM killer ends the copy silently.
        `--max-old-space-size=${Math.floor(memoryLimitMb * 0.75)}`,
        "--disable-warning=ExperimentalWarning",
        harnessPath,
        entry,
        `grade=${gradeId}`,
      ],
      Env: Object.entries({
        ...env,
        PATH: "/usr/local/bin:/usr/bin:/bin",
        HOME: "/tmp",
        TMPDIR: "/tmp",
        TZ: "UTC",
        NODE_ENV: "production",
        PORT: String(containerPorts.http),
        BACKEND_LABS_RPC_PORT: String(containerPorts.rpc),
        BACKEND_LABS_RPC_HOST: "0.0.0.0",
      }).map(([name, value]) => `${name}=${value}`),
      Labels: gradeLabels(gradeId),
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: network,
        Init: true,
        ReadonlyRootfs: true,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Memory: memoryBytes,
        MemorySwap: memoryBytes,
        PidsLimit: pidsLimit,
        NanoCpus: Math.round(cpus * 1e9),
        ShmSize: 16 * 1024 * 1024,
        Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${scratchMb}m` },
        Ulimits: [
          { Name: "nofile", Soft: 1024, Hard: 1024 },
          { Name: "core", Soft: 0, Hard: 0 },
        ],
        Binds: [
          `${workspaceDir}:${containerWorkspace}:ro`,
          ...this.libraryMounts().map((path) => `${path}:${path}:ro`),
        ],
        LogConfig: { Type: "none", Config: {} },
      },
    });

    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const output = new PassThrough().setEncoding("utf8");
      output.on("data", onOutput);
      this.docker.modem.demuxStream(stream, output, output);
      await container.start();
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      throw error;
    }
    const address = (await container.inspect()).NetworkSettings.Networks[network]?.IPAddress;
    let exit: CopyExit | undefined;
    const exited = container.wait().then(async ({ StatusCode }: { StatusCode: number }) => {
      const state = await container.inspect().then(
        (info) => info.State,
        () => undefined,
      );
      exit = describeExit(StatusCode, state?.OOMKilled ?? false);
    });
    return {
      rpcUrl: `http://${address}:${containerPorts.rpc}`,
      httpUrl: `http://${address}:${containerPorts.http}`,
      get exit() {
        return exit;
      },
      exited,
      signal: async (signal) => {
        if (exit) return;
        await container.kill({ signal }).catch(() => undefined);
      },
      [Symbol.asyncDispose]: async () => {
        await container.remove({ force: true }).catch(() => undefined);
        await exited.catch(() => undefined);
      },
    };
  }

  /** The harness's package and the libraries (for pnpm, the store its links point into). */
  private libraryMounts(): string[] {
    const { labsNodeModules } = this.settings;
    const mounts = new Set([realpathSync(labsNodeModules), dirname(dirname(harnessPath))]);
    const store = pnpmStoreOf(realpathSync(labsNodeModules));
    if (store) mounts.add(store);
    return [...mounts];
  }
}

/** pnpm links each package into node_modules/.pnpm at the workspace root; find that folder. */
function pnpmStoreOf(nodeModules: string): string | undefined {
  for (let dir = dirname(nodeModules); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      return realpathSync(join(dir, "node_modules", ".pnpm"));
    } catch {
      // Not at this level.
    }
  }
  return undefined;
}

/** docker-init exits with 128 + n when the copy died of signal n. */
function describeExit(statusCode: number, outOfMemory: boolean): CopyExit {
  if (statusCode > 128) {
    const signal = Object.entries(constants.signals).find(([, number]) => number === statusCode - 128)?.[0];
    if (signal) return { code: null, signal: signal as NodeJS.Signals, outOfMemory };
  }
  return { code: statusCode, signal: null, outOfMemory };
}
