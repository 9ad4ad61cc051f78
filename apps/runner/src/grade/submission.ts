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

/** Files held as text ({ path: text }, or a map) as the pipeline takes them; validation happens in stage 1. */
export function submissionFromTexts(files: Record<string, string> | ReadonlyMap<string, string>): Submission {
  const entries = isTextMap(files) ? [...files] : Object.entries(files);
  return {
    files: new Map(entries.map(([path, content]) => [path, Buffer.from(content, "utf8")])),
    unreadable: [],
  };
}

function isTextMap(
  files: Record<string, string> | ReadonlyMap<string, string>,
): files is ReadonlyMap<string, string> {
  return files instanceof Map;
}
