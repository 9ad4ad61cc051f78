import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { thisRunner } from "./runner-identity.ts";

export const runnerScratchPrefix = "backend-labs-runner-";

/** This runner's folder for grade workspaces and scratch, so a later runner can sweep it if this one dies. */
export function runnerScratchDir(): string {
  const dir = join(tmpdir(), `${runnerScratchPrefix}${thisRunner.pid}-${thisRunner.startTime}`);
  if (!created) {
    created = true;
    // Grades remove their own folders; the runner's goes when the process ends normally.
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

let created = false;
