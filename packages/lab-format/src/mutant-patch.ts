import { applyPatch, FILE_HEADERS_ONLY, formatPatch, parsePatch, structuredPatch } from "diff";

/** A lab tree's files, by path relative to the tree (src/bank.ts), as text. */
export type TreeFiles = ReadonlyMap<string, string>;

/**
 * A lab tree cannot be turned into a submission: a fixed file's copy differs from the starter's, a
 * mutant's patch names a file its base does not have, or one of its hunks no longer fits the base.
 */
export class LabTreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabTreeError";
  }
}

/**
 * The files of a patch mutant: its base tree (solution/ or second-solution/) with `mutants/<id>.patch`
 * applied, exactly (no fuzz: a hunk whose context moved must be re-saved, so the mistake stays the one
 * that was reviewed). Only the files the patch touches change.
 */
export function applyMutantPatch(base: TreeFiles, patchText: string, describe: string): Map<string, string> {
  const files = new Map(base);
  const patches = parsePatch(patchText);
  if (patches.every((patch) => patch.hunks.length === 0))
    throw new LabTreeError(`${describe}: the patch changes nothing`);
  for (const patch of patches) {
    const path = stripPrefix(patch.newFileName ?? patch.oldFileName ?? "");
    const original = files.get(path);
    if (original === undefined)
      throw new LabTreeError(`${describe}: patches ${path}, which its base does not have`);
    const patched = applyPatch(original, patch);
    if (patched === false) {
      const index = patch.hunks.findIndex(
        (_hunk, i) => applyPatch(original, { ...patch, hunks: patch.hunks.slice(0, i + 1) }) === false,
      );
      const hunk = patch.hunks[index]!;
      throw new LabTreeError(
        `${describe}: hunk ${index + 1} of ${path} (@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@) ` +
          "no longer applies: the lines around it changed in the base. Re-save the mutant with `labs mutant edit` / `labs mutant save`.",
      );
    }
    files.set(path, patched);
  }
  return files;
}

/** The paths a patch changes. */
export function patchedPaths(patchText: string): string[] {
  return parsePatch(patchText).map((patch) => stripPrefix(patch.newFileName ?? patch.oldFileName ?? ""));
}

/** A unified diff (a/ and b/ prefixes, 3 lines of context) from `base` to `edited`, over the files either has. */
export function createMutantPatch(base: TreeFiles, edited: TreeFiles): string {
  const paths = [...new Set([...base.keys(), ...edited.keys()])].sort();
  const patches = paths
    .filter((path) => base.get(path) !== edited.get(path))
    .map((path) =>
      structuredPatch(
        `a/${path}`,
        `b/${path}`,
        base.get(path) ?? "",
        edited.get(path) ?? "",
        undefined,
        undefined,
        { context: 3 },
      ),
    );
  return patches.length === 0 ? "" : formatPatch(patches, FILE_HEADERS_ONLY);
}

function stripPrefix(name: string): string {
  return name.replace(/^[ab]\//, "");
}
