import { readFileSync } from "node:fs";

// The runner wrote the canary to a file on the host and passes its path; host files must not be visible.
export function probe(targets: { canaryFile: string }): Promise<string> {
  for (const path of [targets.canaryFile, "/etc/shadow", "/root/.bash_history", "/var/run/docker.sock"]) {
    try {
      const text = readFileSync(path, "utf8");
      if (path === targets.canaryFile) return Promise.resolve(text.trim());
      console.log(`${path}: readable`);
    } catch (error) {
      console.log(`${path}: ${(error as NodeJS.ErrnoException).code}`);
    }
  }
  return Promise.resolve("no canary");
}
