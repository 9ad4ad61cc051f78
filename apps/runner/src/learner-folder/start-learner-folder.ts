import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type Lab, publicLab } from "@backend-labs/lab-format";
import { LearnerFolderError } from "./learner-folder-error.ts";
import { markerFile, markerFor } from "./learner-folder-marker.ts";

export interface StartedFolder {
  dir: string;
  /** Files the learner works on. */
  editable: string[];
  /** Editable files that held other content and were overwritten (--force). */
  replaced: string[];
}

/**
 * `labs start`: a folder to work on a lab in, holding what the web app shows a learner and nothing else:
 * README.md, the whole starter (fixed files read-only) and backend-lab.json, the marker naming the lab and
 * its version. Never the solution, the grader, the mutants' mistakes or hidden variants.
 */
export function startLearnerFolder(lab: Lab, dir: string, { force }: { force: boolean }): StartedFolder {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0 && !force)
    throw new LearnerFolderError(`${target} is not empty: pass --force to write the lab into it anyway`);
  const view = publicLab(lab);
  const replaced: string[] = [];
  const write = (path: string, content: string, readOnly: boolean) => {
    const file = join(target, path);
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file)) {
      if (!readOnly && path !== markerFile && readFileSync(file, "utf8") !== content) replaced.push(path);
      chmodSync(file, 0o644);
    }
    writeFileSync(file, content);
    chmodSync(file, readOnly ? 0o444 : 0o644);
  };
  write("README.md", view.instructions, true);
  for (const file of view.files) write(file.path, file.content, !file.editable);
  write(markerFile, `${JSON.stringify(markerFor(lab), null, 2)}\n`, false);
  return { dir: target, editable: view.files.filter((f) => f.editable).map((f) => f.path), replaced };
}
