import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Lab, labFiles, listFiles } from "./load-lab.ts";
import { type MutantDeclaration } from "./manifest-schema.ts";
import { applyMutantPatch, LabTreeError } from "./mutant-patch.ts";

/** The trees of a lab folder that hold learner files. */
export type LabTree = "starter" | "solution" | "second-solution";

const treeFolders: Record<LabTree, string> = {
  starter: labFiles.starter,
  solution: labFiles.solution,
  "second-solution": labFiles.secondSolution,
};

/**
 * What a learner would submit from a tree: its editable files. A tree may also carry copies of the lab's
 * fixed files (so that it type-checks on its own); those must be the starter's, byte for byte.
 */
export function treeSubmissionFiles(lab: Lab, tree: LabTree): Map<string, string> {
  const dir = join(lab.dir, treeFolders[tree]);
  const editable = new Set(lab.manifest.learner.editable);
  const starterDir = join(lab.dir, labFiles.starter);
  const files = new Map<string, string>();
  for (const path of listFiles(dir)) {
    const content = readFileSync(join(dir, path), "utf8");
    if (editable.has(path)) files.set(path, content);
    else if (readOptional(join(starterDir, path)) !== content) {
      throw new LabTreeError(
        `${treeFolders[tree]}/${path} is not editable (learner.editable), so grading uses starter/${path}; ` +
          "keep the two identical or list the file as editable",
      );
    }
  }
  return files;
}

/** A mutant's files: the editable files of its base tree with its patch applied. */
export function mutantSubmissionFiles(lab: Lab, mutant: MutantDeclaration): Map<string, string> {
  const patch = readFileSync(join(lab.dir, labFiles.mutants, `${mutant.id}.patch`), "utf8");
  return applyMutantPatch(treeSubmissionFiles(lab, mutant.base), patch, `mutant ${mutant.id}`);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
