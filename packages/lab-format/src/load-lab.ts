import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { type ZodError } from "zod";
import { LabFormatError, type LabProblem } from "./lab-format-error.ts";
import { patchedPaths } from "./mutant-patch.ts";
import { type LabManifest, labManifestSchema } from "./manifest-schema.ts";
import { type RoadmapSection, sectionByFolder, sectionByNumber } from "./roadmap-sections.ts";

export const labFiles = {
  manifest: "lab.json",
  instructions: "README.md",
  starter: "starter",
  solution: "solution",
  secondSolution: "second-solution",
  grader: "grader",
  mutants: "mutants",
  promises: "promises.json",
  mutationReport: "mutation-report.json",
  validationRecord: "validation-record.json",
} as const;

export interface Lab {
  /** Absolute path of the lab folder. */
  dir: string;
  manifest: LabManifest;
  section: RoadmapSection;
  /** Absolute paths of the grader suite's test files, sorted. */
  graderFiles: string[];
}

/** Reads and checks one lab folder; throws LabFormatError listing every problem found. */
export function loadLab(labDir: string): Lab {
  const problems: LabProblem[] = [];
  const manifestPath = join(labDir, labFiles.manifest);
  const manifest = readManifest(manifestPath, problems);
  if (!manifest) throw new LabFormatError(labDir, problems);

  const section = sectionByNumber(manifest.roadmap.section);
  if (!section) {
    problems.push({ file: manifestPath, field: "roadmap.section", message: "no such roadmap section" });
    throw new LabFormatError(labDir, problems);
  }
  const parentFolder = labDir.split(/[\\/]/).at(-2) ?? "";
  if (sectionByFolder(parentFolder) && parentFolder !== section.folder) {
    problems.push({
      file: manifestPath,
      field: "roadmap.section",
      message: `section ${section.number} labs belong in labs/${section.folder}/, not labs/${parentFolder}/`,
    });
  }

  requireFile(join(labDir, labFiles.instructions), problems);
  const trees: string[] = [labFiles.starter, labFiles.solution];
  if (manifest.secondSolution) trees.push(labFiles.secondSolution);
  else if (existsSync(join(labDir, labFiles.secondSolution))) {
    problems.push({
      file: join(labDir, labFiles.secondSolution),
      message: "there is a second solution, but lab.json has no secondSolution.design describing it",
    });
  }
  for (const tree of trees) {
    for (const editable of manifest.learner.editable) requireFile(join(labDir, tree, editable), problems);
  }
  if (!manifest.learner.editable.includes(manifest.learner.entry)) {
    requireFile(join(labDir, labFiles.starter, manifest.learner.entry), problems);
  }
  for (const seed of manifest.services.postgres?.seed ?? []) requireFile(join(labDir, seed), problems);

  const graderFiles = listFiles(join(labDir, labFiles.grader))
    .filter((file) => file.endsWith(".test.ts"))
    .map((file) => join(labDir, labFiles.grader, file));
  if (graderFiles.length === 0) {
    problems.push({ file: join(labDir, labFiles.grader), message: "no grader test files (*.test.ts) found" });
  }

  checkMutants(labDir, manifest, problems);
  if (problems.length > 0) throw new LabFormatError(labDir, problems);
  return { dir: labDir, manifest, section, graderFiles };
}

function readManifest(manifestPath: string, problems: LabProblem[]): LabManifest | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "file is missing" : (error as Error).message;
    problems.push({ file: manifestPath, message: reason });
    return undefined;
  }
  const parsed = labManifestSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(...zodProblems(manifestPath, parsed.error));
    return undefined;
  }
  return parsed.data;
}

function zodProblems(file: string, error: ZodError): LabProblem[] {
  return error.issues.map((issue) => ({
    file,
    field: issue.path.length > 0 ? formatPath(issue.path) : "(root)",
    message: issue.message,
  }));
}

function formatPath(path: PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index > 0 ? "." : ""}${String(part)}`))
    .join("");
}

function checkMutants(labDir: string, manifest: LabManifest, problems: LabProblem[]): void {
  const mutantsDir = join(labDir, labFiles.mutants);
  const declared = new Set(manifest.mutants.map((mutant) => mutant.id));
  for (const name of existsSync(mutantsDir) ? readdirSync(mutantsDir) : []) {
    const id = name.endsWith(".patch") ? name.slice(0, -".patch".length) : undefined;
    if (!id || !declared.has(id)) {
      problems.push({
        file: join(mutantsDir, name),
        message: id
          ? "mutant patch is not declared in lab.json mutants"
          : "mutants/ holds only <id>.patch files (a unified diff against the mutant's base tree)",
      });
    }
  }
  manifest.mutants.forEach((mutant, index) => {
    const patchFile = join(mutantsDir, `${mutant.id}.patch`);
    if (!existsSync(patchFile)) {
      problems.push({
        file: join(labDir, labFiles.manifest),
        field: `mutants[${index}].id`,
        message: `no patch ${relative(labDir, patchFile)}`,
      });
      return;
    }
    if (mutant.base === "second-solution" && !manifest.secondSolution) {
      problems.push({
        file: join(labDir, labFiles.manifest),
        field: `mutants[${index}].base`,
        message: "the lab has no second solution (secondSolution in lab.json)",
      });
    }
    for (const path of patchedPaths(readFileSync(patchFile, "utf8"))) {
      if (!manifest.learner.editable.includes(path)) {
        problems.push({
          file: patchFile,
          message: `patches ${path}: mutants may only change files listed in learner.editable`,
        });
      }
    }
  });
}

function requireFile(path: string, problems: LabProblem[]): void {
  if (!existsSync(path) || !statSync(path).isFile())
    problems.push({ file: path, message: "file is missing" });
}

/** Files below dir as sorted relative paths with / separators; [] when dir does not exist. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split("\\").join("/"))
    .sort();
}
