import { readFileSync } from "node:fs";
import { join, normalize } from "node:path";
import { parse } from "yaml";

/** The parts of a pnpm v9 lockfile this module reads. */
interface Lockfile {
  importers?: Record<string, DependencyGroups>;
  snapshots?: Record<string, DependencyGroups | null>;
}

interface DependencyGroups {
  dependencies?: Record<string, string | { version: string }>;
  devDependencies?: Record<string, string | { version: string }>;
  optionalDependencies?: Record<string, string | { version: string }>;
}

/**
 * Every locked package the given workspace folders install, with its exact version: the folders' own
 * dependencies, the workspace packages they link to, and everything those pull in. A lockfile change
 * outside this closure (a library only the web app uses) leaves the list as it was.
 */
export function lockedDependencyClosure(root: string, workspaces: string[]): string[] {
  const lockfile = parse(readFileSync(join(root, "pnpm-lock.yaml"), "utf8")) as Lockfile;
  const importers = lockfile.importers ?? {};
  const snapshots = lockfile.snapshots ?? {};
  const seenWorkspaces = new Set<string>();
  const packages = new Set<string>();
  const pending: string[] = [];

  const visitWorkspace = (workspace: string) => {
    if (seenWorkspaces.has(workspace)) return;
    seenWorkspaces.add(workspace);
    const importer = importers[workspace];
    if (!importer) throw new Error(`pnpm-lock.yaml has no importer "${workspace}"`);
    for (const [name, version] of dependencyEntries(importer)) {
      if (version.startsWith("link:"))
        visitWorkspace(normalize(join(workspace, version.slice("link:".length))).replaceAll("\\", "/"));
      else pending.push(snapshotKey(name, version));
    }
  };
  for (const workspace of workspaces) visitWorkspace(workspace);

  while (pending.length > 0) {
    const key = pending.pop()!;
    if (packages.has(key)) continue;
    packages.add(key);
    const snapshot = snapshots[key];
    if (snapshot === undefined) throw new Error(`pnpm-lock.yaml has no snapshot "${key}"`);
    for (const [name, version] of dependencyEntries(snapshot ?? {})) pending.push(snapshotKey(name, version));
  }
  return [...packages].sort();
}

/** An aliased dependency (`string-width-cjs: string-width@4.2.3`) is locked under the real package's name. */
function snapshotKey(name: string, version: string): string {
  return /^@?[^@(]+@/.test(version) ? version : `${name}@${version}`;
}

function dependencyEntries(groups: DependencyGroups): [string, string][] {
  return [groups.dependencies, groups.devDependencies, groups.optionalDependencies].flatMap((group) =>
    Object.entries(group ?? {}).map(([name, entry]): [string, string] => [
      name,
      typeof entry === "string" ? entry : entry.version,
    ]),
  );
}
