import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { thisRunner } from "./runner-identity.ts";

export const runnerScratchPrefix = "backend-labs-runner-";

/** This runner's folder for grade workspaces and scratch, so a later runner can sweep it if this one dies. */
export function runnerScratchDir(): string {
  const dir = join(tmpdir(), `${runnerScratchPrefix}${thisRunner.pid}-${thisRunner.startTime}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}
