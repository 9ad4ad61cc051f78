import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  createMutantPatch,
  type Lab,
  labFiles,
  listFiles,
  type MutantDeclaration,
  mutantSubmissionFiles,
  treeSubmissionFiles,
} from "@backend-labs/lab-format";
import { UsageError } from "../usage-error.ts";

/**
 * `labs mutant edit`: writes a mutant's files (its base tree's editable files with its patch applied) into
 * a folder to edit as files; a mutant not declared yet starts from its base tree. Returns the folder.
 */
export function editMutant(
  lab: Lab,
  mutantId: string,
  dir: string | undefined,
  base: MutantDeclaration["base"],
): string {
  const declared = lab.manifest.mutants.find((mutant) => mutant.id === mutantId);
  const files = declared ? mutantSubmissionFiles(lab, declared) : treeSubmissionFiles(lab, base);
  const target = dir ?? mkdtempSync(join(tmpdir(), `mutant-${mutantId}-`));
  if (existsSync(target) && readdirSync(target).length > 0 && dir !== undefined)
    throw new UsageError(`${target} is not empty: give an empty or new folder`);
  for (const [path, content] of files) {
    mkdirSync(dirname(join(target, path)), { recursive: true });
    writeFileSync(join(target, path), content);
  }
  return target;
}

export interface SaveMutantOptions {
  mistake?: string;
  base: MutantDeclaration["base"];
  origin: MutantDeclaration["origin"];
}

/**
 * `labs mutant save`: diffs a folder of the lab's editable files against the mutant's base tree and writes
 * mutants/<id>.patch. A mutant not yet in lab.json is added to it (it needs --mistake).
 */
export function saveMutant(lab: Lab, mutantId: string, dir: string, options: SaveMutantOptions): string {
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(mutantId))
    throw new UsageError(`mutant ids are lower-case words joined by dashes, not "${mutantId}"`);
  const declared = lab.manifest.mutants.find((mutant) => mutant.id === mutantId);
  const base = declared?.base ?? options.base;
  if (!declared && !options.mistake)
    throw new UsageError(
      `mutant ${mutantId} is not in lab.json yet: say what mistake it encodes with --mistake "..."`,
    );
  const editable = lab.manifest.learner.editable;
  const stray = listFiles(dir).filter((path) => !editable.includes(path));
  if (stray.length > 0)
    throw new UsageError(
      `${dir} holds files the learner cannot edit: ${stray.join(", ")} (editable: ${editable.join(", ")})`,
    );
  const edited = new Map(listFiles(dir).map((path) => [path, readFileSync(join(dir, path), "utf8")]));
  const patch = createMutantPatch(treeSubmissionFiles(lab, base), edited);
  if (!patch) throw new UsageError(`${dir} is identical to ${base}/: a mutant must change something`);
  mkdirSync(join(lab.dir, labFiles.mutants), { recursive: true });
  const patchFile = join(lab.dir, labFiles.mutants, `${mutantId}.patch`);
  writeFileSync(patchFile, patch);
  if (!declared) {
    const manifestPath = join(lab.dir, labFiles.manifest);
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { mutants?: unknown[] };
    manifest.mutants = [
      ...(manifest.mutants ?? []),
      {
        id: mutantId,
        mistake: options.mistake,
        ...(base !== "solution" && { base }),
        ...(options.origin !== "author" && { origin: options.origin }),
      },
    ];
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  return patchFile;
}
