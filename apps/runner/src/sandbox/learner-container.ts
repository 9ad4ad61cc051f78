import { randomBytes } from "node:crypto";
import { constants } from "node:os";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { harnessStartRoute, type HarnessStartRequest } from "@backend-labs/graders/learner-protocol";
import type Docker from "dockerode";
import { containerPaths, type LibraryMounts } from "./library-mounts.ts";
import { containerPorts, type CopyExit, type LearnerCopy } from "./learner-sandbox.ts";

export interface LearnerContainerSettings {
  image: string;
  /** The grade environment's internal network: the copy reaches its services by name and nothing else. */
  network: string;
  /** Host folder mounted read-only at /workspace; it holds an empty `node_modules` folder to mount over. */
  workspaceDir: string;
  libraries: LibraryMounts;
  labels: Record<string, string>;
  memoryLimitMb: number;
  cpus: number;
  pidsLimit: number;
  scratchMb: number;
}

/** The unprivileged user of the official node image. */
const sandboxUser = "1000:1000";

/** Variables Node reads only while it starts (NODE_OPTIONS...): a waiting copy cannot take them later. */
export function needsFreshProcess(env: Record<string, string>): boolean {
  return Object.keys(env).some((name) => /^(NODE_(?!ENV$)|UV_)/.test(name));
}

/**
 * A locked-down container whose Node process is already running the harness and waits to be told what to
 * import (see learner-harness.ts --wait): a copy of the learner's code then starts in about the time the
 * import takes. Each container serves one copy and is removed with it.
 */
export interface WaitingContainer {
  readonly id: string;
  start(request: {
    entry: string;
    env: Record<string, string>;
    onOutput: (text: string) => void;
  }): Promise<LearnerCopy>;
  remove(): Promise<void>;
}

/**
 * Creates and starts one learner container: a non-root user, every capability dropped, no-new-privileges,
 * a read-only root filesystem, a size-capped tmpfs for scratch, memory (and swap), pids and CPU limits, on
 * the environment's internal network only. Output reaches the runner through an attach stream (no log
 * file that a chatty copy could grow). See docs/security.md.
 */
export async function createWaitingContainer(
  docker: Docker,
  settings: LearnerContainerSettings,
  startupEnv: Record<string, string> = {},
): Promise<WaitingContainer> {
  const { image, network, workspaceDir, libraries, memoryLimitMb, cpus, pidsLimit, scratchMb } = settings;
  const memoryBytes = memoryLimitMb * 1024 * 1024;
  const token = randomBytes(24).toString("hex");
  const container = await docker.createContainer({
    name: `${network}-copy-${randomBytes(4).toString("hex")}`,
    Image: image,
    User: sandboxUser,
    WorkingDir: containerPaths.workspace,
    Cmd: [
      "node",
      // The heap stays below the container's limit so that a runaway allocation fails in V8 with a
      // message, before the kernel's OOM killer ends the copy silently.
      `--max-old-space-size=${Math.floor(memoryLimitMb * 0.75)}`,
      "--disable-warning=ExperimentalWarning",
      // kafkajs schedules negative timeouts on Node 24: its warning is not the learner's output.
      "--disable-warning=TimeoutNegativeWarning",
      libraries.harness,
      "--wait",
      `environment=${network}`,
    ],
    Env: Object.entries({
      ...startupEnv,
      PATH: "/usr/local/bin:/usr/bin:/bin",
      HOME: "/tmp",
      TMPDIR: "/tmp",
      TZ: "UTC",
      NODE_ENV: "production",
      PORT: String(containerPorts.http),
      BACKEND_LABS_RPC_PORT: String(containerPorts.rpc),
      BACKEND_LABS_RPC_HOST: "0.0.0.0",
      BACKEND_LABS_START_TOKEN: token,
    }).map(([name, value]) => `${name}=${value}`),
    Labels: settings.labels,
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
      Binds: [`${workspaceDir}:${containerPaths.workspace}:ro`, ...libraries.binds],
      LogConfig: { Type: "none", Config: {} },
    },
  });
  const remove = () =>
    container.remove({ force: true }).then(
      () => undefined,
      () => undefined,
    );

  // Output is buffered until the copy is started and has a listener.
  const early: string[] = [];
  let onOutput: (text: string) => void = (text) => early.push(text);
  let address: string | undefined;
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const output = new PassThrough().setEncoding("utf8");
    output.on("data", (text: string) => onOutput(text));
    docker.modem.demuxStream(stream, output, output);
    await container.start();
    address = (await container.inspect()).NetworkSettings.Networks[network]?.IPAddress;
    if (!address) throw new Error(`learner container has no address on ${network}`);
  } catch (error) {
    await remove();
    throw error;
  }
  let exit: CopyExit | undefined;
  const exited = container.wait().then(async ({ StatusCode }: { StatusCode: number }) => {
    const state = await container.inspect().then(
      (info) => info.State,
      () => undefined,
    );
    exit = describeExit(StatusCode, state?.OOMKilled ?? false);
  });
  const rpcUrl = `http://${address}:${containerPorts.rpc}`;

  return {
    id: container.id,
    remove,
    async start({ entry, env, onOutput: listener }) {
      onOutput = listener;
      for (const text of early.splice(0)) listener(text);
      await sendStart(rpcUrl, token, { entry, env }, () => exit !== undefined);
      return {
        rpcUrl,
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
          await remove();
          await exited.catch(() => undefined);
        },
      };
    },
  };
}

/** The harness listens a moment after its container starts; a copy that exited meanwhile is left to the caller. */
async function sendStart(
  rpcUrl: string,
  token: string,
  request: HarnessStartRequest,
  hasExited: () => boolean,
): Promise<void> {
  // Generous: on a loaded machine (two grades and their services on two cores) a container's Node can take
  // well over 15 s to listen, and a copy that exits meanwhile is noticed at once anyway.
  const deadline = Date.now() + 60_000;
  let response: Response | undefined;
  while (!response) {
    try {
      response = await fetch(rpcUrl + harnessStartRoute, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(2_000),
      });
    } catch (error) {
      if (hasExited()) return;
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
  await response.body?.cancel();
  if (response.status !== 202)
    throw new Error(`the learner container refused to start (HTTP ${response.status})`);
}

/** docker-init exits with 128 + n when the copy died of signal n. */
function describeExit(statusCode: number, outOfMemory: boolean): CopyExit {
  if (statusCode > 128) {
    const signal = Object.entries(constants.signals).find(([, number]) => number === statusCode - 128)?.[0];
    if (signal) return { code: null, signal: signal as NodeJS.Signals, outOfMemory };
  }
  return { code: statusCode, signal: null, outOfMemory };
}
