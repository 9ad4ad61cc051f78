import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import getPort from "get-port";
import { harnessPath } from "./harness-path.ts";
import {
  type CopyExit,
  type LaunchRequest,
  type LearnerCopy,
  type LearnerSandbox,
} from "./learner-sandbox.ts";
import { formatRunner, thisRunner } from "../host/runner-identity.ts";
import { runnerScratchDir } from "../host/runner-scratch.ts";

export interface ProcessSandboxSettings {
  gradeId: string;
  workspaceDir: string;
  entry: string;
  memoryLimitMb: number;
  /** CPU seconds a copy may use before the kernel stops it. */
  cpuSeconds: number;
}

/**
 * FOR TRUSTED CODE ONLY (a learner's own machine or CI): each copy is a child process in its own process
 * group, with a scrubbed environment, its own temp folder and rlimits (CPU time, file size, open files,
 * no core dumps). It shares the host's filesystem and network; see docs/security.md.
 */
export class ProcessSandbox implements LearnerSandbox {
  readonly kind = "process";
  private readonly settings: ProcessSandboxSettings;

  constructor(settings: ProcessSandboxSettings) {
    this.settings = settings;
  }

  async launch({ env, onOutput }: LaunchRequest): Promise<LearnerCopy> {
    const { workspaceDir, entry, memoryLimitMb, cpuSeconds, gradeId } = this.settings;
    const [rpcPort, httpPort] = [await getPort({ host: "127.0.0.1" }), await getPort({ host: "127.0.0.1" })];
    const scratch = mkdtempSync(join(runnerScratchDir(), "scratch-"));
    const limits = [`--cpu=${cpuSeconds}`, "--fsize=104857600", "--nofile=1024", "--core=0"];
    const node = [
      process.execPath,
      `--max-old-space-size=${memoryLimitMb}`,
      "--disable-warning=ExperimentalWarning",
      // kafkajs schedules negative timeouts on Node 24: its warning is not the learner's output.
      "--disable-warning=TimeoutNegativeWarning",
      harnessPath,
      entry,
      `grade=${gradeId}`,
      // Lets a later runner find and kill this copy if this runner dies without tearing down.
      `runner=${formatRunner(thisRunner)}`,
    ];
    const child = spawn("prlimit", [...limits, "--", ...node], {
      cwd: workspaceDir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...env,
        PATH: "/usr/local/bin:/usr/bin:/bin",
        HOME: scratch,
        TMPDIR: scratch,
        TZ: "UTC",
        NODE_ENV: "production",
        PORT: String(httpPort),
        BACKEND_LABS_RPC_PORT: String(rpcPort),
      },
    });
    child.stdout.setEncoding("utf8").on("data", onOutput);
    child.stderr.setEncoding("utf8").on("data", onOutput);
    let exit: CopyExit | undefined;
    const exited = once(child, "exit").then(() => {
      exit = { code: child.exitCode, signal: child.signalCode, outOfMemory: false };
    });
    return {
      rpcUrl: `http://127.0.0.1:${rpcPort}`,
      httpUrl: `http://127.0.0.1:${httpPort}`,
      get exit() {
        return exit;
      },
      exited,
      signal: (signal) => {
        killGroup(child, signal);
        return Promise.resolve();
      },
      [Symbol.asyncDispose]: async () => {
        // Children the learner's code spawned live on in the group after its leader exits.
        killGroup(child, "SIGKILL");
        if (!exit) await exited;
        rmSync(scratch, { recursive: true, force: true });
      },
    };
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}
