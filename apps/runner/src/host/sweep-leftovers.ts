import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { isRunnerAlive, parseRunner, processStartTime } from "./runner-identity.ts";
import { runnerScratchPrefix } from "./runner-scratch.ts";
import { labelKeys } from "../services/resource-labels.ts";

export interface SweepReport {
  containers: number;
  networks: number;
  processes: number;
  folders: number;
}

/**
 * Removes what runners that died without tearing down (kill -9, a crash, a power cut) left behind:
 * their containers and networks (by label), their learner processes (by the `runner=` argument) and
 * their scratch folders. Work of runners that are still running is never touched.
 */
export async function sweepLeftovers(docker: Docker | undefined): Promise<SweepReport> {
  const report: SweepReport = { containers: 0, networks: 0, processes: 0, folders: 0 };
  const abandoned = (labels: Record<string, string> | undefined) => {
    const runner = parseRunner(labels?.[labelKeys.runner] ?? "");
    return runner !== undefined && !isRunnerAlive(runner);
  };
  if (docker) {
    const filters = { label: [`${labelKeys.managed}=true`] };
    const containers = (await docker.listContainers({ all: true, filters })).filter((info) =>
      abandoned(info.Labels),
    );
    await Promise.allSettled(
      containers.map((info) => docker.getContainer(info.Id).remove({ force: true, v: true })),
    );
    report.containers = containers.length;
    const networks = (await docker.listNetworks({ filters })).filter((info) => abandoned(info.Labels));
    await Promise.allSettled(networks.map((info) => docker.getNetwork(info.Id).remove()));
    report.networks = networks.length;
  }
  report.processes = killAbandonedLearnerProcesses();
  report.folders = removeAbandonedScratch();
  return report;
}

/** Process-sandbox copies carry `runner=<identity>` on their command line and lead their own group. */
function killAbandonedLearnerProcesses(): number {
  let killed = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const runner = parseRunner(argv.find((arg) => arg.startsWith("runner="))?.slice("runner=".length) ?? "");
    if (!runner || isRunnerAlive(runner)) continue;
    try {
      process.kill(-Number(entry), "SIGKILL");
      killed++;
    } catch {
      // Gone already.
    }
  }
  return killed;
}

function removeAbandonedScratch(): number {
  let removed = 0;
  for (const name of readdirSync(tmpdir())) {
    const match = new RegExp(`^${runnerScratchPrefix}(\\d+)-(\\d+)$`).exec(name);
    if (!match) continue;
    if (processStartTime(Number(match[1])) === match[2]) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
