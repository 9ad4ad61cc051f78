import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/** A learner's files, keyed by path relative to the workspace root, as received (not yet trusted). */
export interface Submission {
  files: Map<string, Buffer>;
  /** Entries that could not even be read as plain files (symlinks, devices, unreadable). */
  unreadable: { path: string; reason: string }[];
}

/** Reads a submission folder without following links: a symlink is reported, never read through. */
export function readSubmissionDir(dir: string): Submission {
  const files = new Map<string, Buffer>();
  const unreadable: Submission["unreadable"] = [];
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      const relativePath = relative(dir, path).split("\\").join("/");
      const stats = lstatSync(path);
      if (stats.isSymbolicLink()) unreadable.push({ path: relativePath, reason: "is a symbolic link" });
      else if (stats.isDirectory()) walk(path);
      else if (!stats.isFile()) unreadable.push({ path: relativePath, reason: "is not a regular file" });
      else if (stats.size > maxSubmissionFileBytes) files.set(relativePath, Buffer.alloc(stats.size));
      else files.set(relativePath, readFileSync(path));
    }
  };
  walk(dir);
  return { files, unreadable };
}

export const maxSubmissionFileBytes = 1024 * 1024;
export const maxSubmissionFiles = 100;
