import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import ts from "typescript";
import { labFiles, type Lab, learnerCompilerOptions, listFiles } from "@backend-labs/lab-format";

/** One file of the browser's virtual file system: a declaration file or a package.json that steers resolution. */
export interface TypeLibrary {
  /** file:///node_modules/<package>/..., or file:///package.json for the workspace root. */
  path: string;
  content: string;
}

/** What the editor's TypeScript worker needs to check a lab's files the way the runner does. */
export interface LabTypeLibraries {
  labId: string;
  /** Compiler options in TypeScript's API form (enums as numbers), for typescriptDefaults.setCompilerOptions. */
  compilerOptions: ts.CompilerOptions;
  libraries: TypeLibrary[];
}

const virtualRoot = "file://";
const virtualNodeModules = `${virtualRoot}/node_modules`;
/** The runner writes this package.json into every workspace: learner files are ES modules. */
const workspacePackageJson = JSON.stringify({ type: "module", private: true });
/** The package.json fields module resolution reads; the rest (scripts, authors...) is dead weight. */
const resolutionFields = [
  "name",
  "version",
  "type",
  "main",
  "types",
  "typings",
  "typesVersions",
  "exports",
  "imports",
];

/**
 * The declaration files the lab's starter code reaches (node built-ins, pg, ioredis...), resolved by TypeScript
 * exactly as the runner resolves them, re-rooted at file:///node_modules/. Only files inside installed packages
 * are returned: never the lab's own files (the editor has the starter files; solution/, mutants/ and grader/
 * must not reach the browser).
 */
export function collectLabTypeLibraries(lab: Lab, labsRoot: string): LabTypeLibraries {
  const starterDir = join(lab.dir, labFiles.starter);
  const rootNames = listFiles(starterDir)
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(starterDir, file));
  const converted = ts.convertCompilerOptionsFromJson(learnerCompilerOptions, starterDir);
  const [optionsError] = converted.errors;
  if (optionsError) throw new Error(ts.flattenDiagnosticMessageText(optionsError.messageText, "\n"));
  const program = ts.createProgram({
    rootNames,
    options: { ...converted.options, typeRoots: [join(labsRoot, "node_modules", "@types")] },
  });

  const packages = placePackages(labsRoot);
  const libraries = new Map<string, string>([[`${virtualRoot}/package.json`, workspacePackageJson]]);
  for (const sourceFile of program.getSourceFiles()) {
    if (!sourceFile.isDeclarationFile || program.isSourceFileDefaultLibrary(sourceFile)) continue;
    const owner = owningPackage(sourceFile.fileName, packages);
    if (!owner) continue;
    libraries.set(virtualPath(owner, sourceFile.fileName), sourceFile.text);
    for (const packageJson of packageJsonsAbove(sourceFile.fileName, owner.realDir)) {
      const path = virtualPath(owner, packageJson);
      if (!libraries.has(path)) libraries.set(path, resolutionPart(packageJson));
    }
  }
  return {
    labId: lab.manifest.id,
    compilerOptions: { ...converted.options, typeRoots: [`${virtualNodeModules}/@types`] },
    libraries: [...libraries].map(([path, content]) => ({ path, content })),
  };
}

/** The payload as the route serves it: JSON bytes with a strong ETag. */
export interface ServedTypeLibraries {
  etag: string;
  json: Uint8Array<ArrayBuffer>;
}

/** About 3 MB per lab (mostly @types/node): keep the labs in use, not the whole catalog. */
const cachedLabs = 8;
const served = new Map<string, { key: string; value: ServedTypeLibraries }>();

/**
 * Cached per lab until its starter files or the labs' dependency list change (least recently used labs are
 * dropped first). Installing packages needs a restart of the server to be seen, like any dependency change.
 */
export function servedLabTypeLibraries(lab: Lab, labsRoot: string): ServedTypeLibraries {
  const id = lab.manifest.id;
  const key = cacheKey(lab, labsRoot);
  const cached = served.get(id);
  served.delete(id);
  if (cached?.key === key) {
    served.set(id, cached);
    return cached.value;
  }
  const json = new TextEncoder().encode(JSON.stringify(collectLabTypeLibraries(lab, labsRoot)));
  const value = { etag: `"${createHash("sha256").update(json).digest("base64url").slice(0, 32)}"`, json };
  served.set(id, { key, value });
  for (const oldest of served.keys()) {
    if (served.size <= cachedLabs) break;
    served.delete(oldest);
  }
  return value;
}

function cacheKey(lab: Lab, labsRoot: string): string {
  const starterDir = join(lab.dir, labFiles.starter);
  const inputs = [
    join(labsRoot, "package.json"),
    ...listFiles(starterDir).map((file) => join(starterDir, file)),
  ];
  return inputs
    .map((path) => {
      const stat = statSync(path);
      return `${path}:${stat.size}:${stat.mtimeMs}`;
    })
    .join("|");
}

interface PlacedPackage {
  realDir: string;
  virtualDir: string;
}

/**
 * Every package installed for the labs, found by following declared dependencies from labs/package.json, with
 * the folder it gets in the browser: flat under file:///node_modules/ like npm would hoist it, nested under its
 * dependent when another version took the flat name. Packages that TypeScript reaches only through pnpm's
 * hoisting (not declared by anyone) are not placed, so their files are not served.
 */
function placePackages(labsRoot: string): Map<string, PlacedPackage> {
  const placed = new Map<string, PlacedPackage>();
  const takenVirtualDirs = new Set<string>();
  const queue: { fromDir: string; virtualDir: string }[] = [{ fromDir: labsRoot, virtualDir: virtualRoot }];
  for (let next = queue.shift(); next; next = queue.shift()) {
    for (const name of declaredDependencies(join(next.fromDir, "package.json"))) {
      const realDir = locatePackage(next.fromDir, name);
      // Workspace packages (real folder outside node_modules) are code, not type libraries.
      if (!realDir || placed.has(realDir) || !realDir.split(sep).includes("node_modules")) continue;
      const flat = `${virtualNodeModules}/${name}`;
      const virtualDir = takenVirtualDirs.has(flat) ? `${next.virtualDir}/node_modules/${name}` : flat;
      takenVirtualDirs.add(virtualDir);
      placed.set(realDir, { realDir, virtualDir });
      queue.push({ fromDir: realDir, virtualDir });
    }
  }
  return placed;
}

function declaredDependencies(packageJsonPath: string): string[] {
  const manifest = JSON.parse(readFileSync(packageJsonPath, "utf8")) as Record<string, unknown>;
  const names = ["dependencies", "peerDependencies", "optionalDependencies"].flatMap((field) =>
    Object.keys((manifest[field] as Record<string, string> | undefined) ?? {}),
  );
  return [...new Set(names)];
}

/** Node's lookup: node_modules/<name> in fromDir and each folder above it, symlinks resolved. */
function locatePackage(fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (!dir.endsWith(`${sep}node_modules`)) {
      const candidate = join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function owningPackage(file: string, packages: Map<string, PlacedPackage>): PlacedPackage | undefined {
  for (let dir = dirname(file); dirname(dir) !== dir; dir = dirname(dir)) {
    const owner = packages.get(dir);
    if (owner) return owner;
  }
  return undefined;
}

function packageJsonsAbove(file: string, packageDir: string): string[] {
  const found: string[] = [];
  for (let dir = dirname(file); dir.startsWith(packageDir); dir = dirname(dir)) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) found.push(candidate);
    if (dir === packageDir) break;
  }
  return found;
}

function virtualPath(owner: PlacedPackage, realFile: string): string {
  return `${owner.virtualDir}/${relative(owner.realDir, realFile).split(sep).join("/")}`;
}

function resolutionPart(packageJsonPath: string): string {
  const manifest = JSON.parse(readFileSync(packageJsonPath, "utf8")) as Record<string, unknown>;
  return JSON.stringify(
    Object.fromEntries(Object.entries(manifest).filter(([field]) => resolutionFields.includes(field))),
  );
}
