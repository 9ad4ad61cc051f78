import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { type Lab, labFiles } from "@backend-labs/lab-format";
import { readSubmissionDir, type Submission } from "./submission.ts";

/** A grade's learner files: the lab's starter overlaid with the (validated) submission. */
export type WorkspaceFiles = Map<string, Buffer>;

/**
 * Stage 2: the files of the learner's workspace. The grader suite is not among them: it runs from the
 * lab folder, out of the learner's reach.
 */
export function workspaceFiles(lab: Lab, submission: Submission): WorkspaceFiles {
  const files: WorkspaceFiles = new Map(readSubmissionDir(join(lab.dir, labFiles.starter)).files);
  for (const [path, content] of submission.files) files.set(path, content);
  return files;
}

/**
 * How the workspace reaches the libraries learner code imports: a symlink to the labs package's
 * node_modules (a process on this host), or an empty folder a container mounts them over.
 */
export type LibraryAccess = { link: string } | "mountpoint";

/** Writes the workspace into `dir`, replacing whatever an earlier grade left there. */
export function writeWorkspace(dir: string, files: WorkspaceFiles, libraries: LibraryAccess): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const entry of readdirSync(dir)) {
    if (libraries === "mountpoint" && entry === "node_modules") continue;
    rmSync(join(dir, entry), { recursive: true, force: true });
  }
  for (const [path, content] of files) {
    const target = resolve(dir, path);
    if (!target.startsWith(dir + sep)) throw new Error(`refusing to write outside the workspace: ${path}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  if (libraries === "mountpoint") mkdirSync(join(dir, "node_modules"), { recursive: true });
  else symlinkSync(libraries.link, join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }, null, 2));
}
