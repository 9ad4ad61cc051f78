import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { type Lab, labFiles, listFiles } from "@backend-labs/lab-format";
import { maxSubmissionFileBytes, type Submission } from "../grade/submission.ts";
import { LearnerFolderError } from "./learner-folder-error.ts";
import { type LearnerFolderMarker, markerFile, readMarker, sha256 } from "./learner-folder-marker.ts";

export interface LearnerFolder {
  submission: Submission;
  /** Files and folders that are not part of the lab (notes, results, .git, node_modules): left out. */
  ignored: string[];
}

/**
 * Reads a learner's folder as a submission: the lab's editable files, by today's rules (a symlink or a
 * special file is refused, never followed). Copies of the starter's fixed files are fine as they are, and so
 * are untouched copies from the version the folder was started from (`startedFrom`, its marker); one that
 * was changed is refused (the grade uses the starter's). Everything else is not part of the lab and is left
 * out, listed in `ignored`.
 */
export function readLearnerFolder(lab: Lab, dir: string, startedFrom?: LearnerFolderMarker): LearnerFolder {
  const editable = new Set(lab.manifest.learner.editable);
  const starterDir = join(lab.dir, labFiles.starter);
  const fixed = new Set(listFiles(starterDir).filter((path) => !editable.has(path)));
  const labPaths = [...editable, ...fixed];
  const known = new Set([...labPaths, markerFile, labFiles.instructions]);
  const files = new Map<string, Buffer>();
  const unreadable: Submission["unreadable"] = [];
  const ignored: string[] = [];

  const walk = (current: string): void => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      const relativePath = relative(dir, path).split("\\").join("/");
      const stats = lstatSync(path);
      if (stats.isDirectory() && !stats.isSymbolicLink()) {
        // Only folders on the way to a lab file are read: .git, node_modules and the like are not.
        if (labPaths.some((labPath) => labPath.startsWith(`${relativePath}/`))) walk(path);
        else ignored.push(`${relativePath}/`);
      } else if (!known.has(relativePath)) ignored.push(relativePath);
      else if (relativePath === markerFile || relativePath === labFiles.instructions) continue;
      else if (stats.isSymbolicLink()) unreadable.push({ path: relativePath, reason: "is a symbolic link" });
      else if (!stats.isFile()) unreadable.push({ path: relativePath, reason: "is not a regular file" });
      else if (stats.size > maxSubmissionFileBytes) files.set(relativePath, Buffer.alloc(stats.size));
      else if (editable.has(relativePath)) files.set(relativePath, readFileSync(path));
      else {
        const copy = readFileSync(path, "utf8");
        const change = describeChange(readFileSync(join(starterDir, relativePath), "utf8"), copy);
        const untouchedOlderCopy = startedFrom?.files[relativePath] === sha256(copy);
        if (change && !untouchedOlderCopy) unreadable.push({ path: relativePath, reason: change });
      }
    }
  };
  walk(dir);
  return { submission: { files, unreadable }, ignored };
}

/** Why a changed copy of a fixed file is refused, with where it differs; undefined when it is unchanged. */
function describeChange(starter: string, copy: string): string | undefined {
  if (starter === copy) return undefined;
  const [a, b] = [starter.split("\n"), copy.split("\n")];
  const differing = Array.from({ length: Math.max(a.length, b.length) }, (_, i) => i).filter(
    (i) => a[i] !== b[i],
  );
  return (
    `is one of the lab's fixed files, and it was changed (${differing.length} line(s) differ, the first ` +
    `at line ${differing[0]! + 1}): the grade runs the starter's copy, so undo the change ` +
    "(`labs start <lab-id> --force` restores every fixed file)"
  );
}

/**
 * A learner's folder as a submission of `lab`, by the rules above, with the folder's own marker (if
 * any) as the version it was started from. A folder started for another lab, or holding none of the
 * lab's editable files, is a LearnerFolderError that says so.
 */
export function readLabSubmission(lab: Lab, dir: string): LearnerFolder {
  const marker = readMarker(dir);
  if (marker && marker.lab !== lab.manifest.id)
    throw new LearnerFolderError(
      `${dir} was started for the lab ${marker.lab} (${markerFile}), not ${lab.manifest.id}`,
    );
  const folder = readLearnerFolder(lab, dir, marker);
  if (folder.submission.files.size === 0 && folder.submission.unreadable.length === 0)
    throw new LearnerFolderError(
      `${dir} holds none of the files ${lab.manifest.id} lets you edit (${lab.manifest.learner.editable.join(", ")}): nothing to grade`,
    );
  return folder;
}
