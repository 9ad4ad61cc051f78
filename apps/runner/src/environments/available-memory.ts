import { readFileSync } from "node:fs";
import { freemem } from "node:os";

/** Memory the kernel could give out now without swapping (MemAvailable), in MiB. */
export function availableMemoryMb(): number {
  try {
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: fall back to free memory, which undercounts reclaimable caches.
  }
  return freemem() / 1024 / 1024;
}
