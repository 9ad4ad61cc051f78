import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/**
 * Names this runner process uniquely on its host: host, pid and the pid's start time (so a recycled pid
 * is not mistaken for it). Everything a grade creates carries it, so a later runner can tell leftovers of
 * a runner that died (kill -9) from the work of one that is still running.
 */
export interface RunnerIdentity {
  host: string;
  pid: number;
  startTime: string;
}

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22, counted after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export const thisRunner: RunnerIdentity = {
  host: hostname(),
  pid: process.pid,
  startTime: processStartTime(process.pid) ?? "0",
};

export function formatRunner(runner: RunnerIdentity): string {
  return `${runner.host}:${runner.pid}:${runner.startTime}`;
}

export function parseRunner(text: string): RunnerIdentity | undefined {
  const match = /^(.+):(\d+):(\d+)$/.exec(text);
  return match ? { host: match[1]!, pid: Number(match[2]), startTime: match[3]! } : undefined;
}

/** Whether a runner on this host is still running; runners on other hosts are assumed alive. */
export function isRunnerAlive(runner: RunnerIdentity): boolean {
  if (runner.host !== thisRunner.host) return true;
  return processStartTime(runner.pid) === runner.startTime;
}
