import { openSync, writeSync, closeSync } from "node:fs";

// Writes until the filesystem refuses: /tmp is a small tmpfs, everything else is read-only.
export function probe(): Promise<string> {
  const chunk = Buffer.alloc(1024 * 1024, 1);
  for (const path of ["/tmp/big", "/workspace/big", "/big"]) {
    let written = 0;
    try {
      const fd = openSync(path, "w");
      try {
        for (; written < 10_000; written++) writeSync(fd, chunk);
      } finally {
        closeSync(fd);
      }
      console.log(`${path}: wrote ${written} MB`);
    } catch (error) {
      const where = path === "/tmp/big" ? "/tmp" : path;
      console.log(`${where}: ${(error as NodeJS.ErrnoException).code} after ${written} MB`);
    }
  }
  return Promise.resolve("no canary");
}
