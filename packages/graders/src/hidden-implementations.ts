import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { applyMutantPatch, patchedPaths } from "@backend-labs/lab-format";

/**
 * For labs whose learners write the tests (section 9): the implementations their checks run against, as
 * source text. A buggy variant is `fixtures/variants/<name>.patch`, a unified diff against a correct
 * implementation in the lab folder (its a/ path, e.g. `a/starter/src/pricing.ts`), so a fix to that file
 * reaches every variant; one written out whole (a rewrite, not one bug) is `fixtures/variants/<name>.ts`.
 * Comment lines are removed, so a variant's note about its bug stays on the grader's side.
 */
export function hiddenImplementations(labDir: string): {
  /** A file of the lab folder, e.g. `starter/src/pricing.ts`. */
  source: (path: string) => string;
  variant: (name: string) => string;
} {
  const read = (path: string) => readFileSync(join(labDir, path), "utf8");
  const variant = (name: string): string => {
    const whole = `fixtures/variants/${name}.ts`;
    if (existsSync(join(labDir, whole))) return read(whole);
    const patchFile = `fixtures/variants/${name}.patch`;
    const patch = read(patchFile);
    const [base, ...others] = patchedPaths(patch);
    if (!base || others.length > 0) throw new Error(`${patchFile} must change exactly one file`);
    return applyMutantPatch(new Map([[base, read(base)]]), patch, patchFile).get(base)!;
  };
  return {
    source: (path) => withoutCommentLines(read(path)),
    variant: (name) => withoutCommentLines(variant(name)),
  };
}

function withoutCommentLines(source: string): string {
  return source
    .split("\n")
    .filter((line) => !/^\s*(\/\/|\/\*\*.*\*\/\s*$)/.test(line))
    .join("\n");
}
