import { realpathSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { harnessPath } from "./harness-path.ts";

/** Where learner containers see the learner's files, the libraries and the harness: never the host's paths. */
export const containerPaths = {
  workspace: "/workspace",
  /** The labs package's node_modules, mounted over the workspace's empty `node_modules` folder. */
  libraries: "/workspace/node_modules",
  /** The graders package, for the harness (learner-harness.ts) and its own dependencies. */
  graders: "/opt/backend-labs/packages/graders",
} as const;

export interface LibraryMounts {
  /** Docker bind specs, all read-only. */
  binds: string[];
  /** The harness script as the container sees it. */
  harness: string;
}

/**
 * The read-only mounts that give a container the libraries learner code may import and the harness, at
 * neutral paths (stack traces show /workspace/... and /node_modules/.pnpm/..., not the runner's folders).
 * pnpm links packages with relative symlinks into `<root>/node_modules/.pnpm`; the store is mounted where
 * those links land from each mounted node_modules, so they resolve inside the container as on the host.
 */
export function libraryMounts(labsNodeModules: string): LibraryMounts {
  const hostLibraries = realpathSync(labsNodeModules);
  const hostGraders = dirname(dirname(harnessPath));
  const binds = new Map<string, string>([
    [containerPaths.libraries, hostLibraries],
    [containerPaths.graders, hostGraders],
  ]);
  const store = pnpmStoreOf(hostLibraries);
  if (store) {
    binds.set(resolve(containerPaths.libraries, relative(hostLibraries, store)), store);
    binds.set(
      resolve(containerPaths.graders, "node_modules", relative(join(hostGraders, "node_modules"), store)),
      store,
    );
  }
  return {
    binds: [...binds].map(([inContainer, onHost]) => `${onHost}:${inContainer}:ro`),
    harness: join(containerPaths.graders, relative(hostGraders, harnessPath)),
  };
}

/** pnpm links each package into node_modules/.pnpm at the workspace root; find that folder. */
function pnpmStoreOf(nodeModules: string): string | undefined {
  for (let dir = dirname(nodeModules); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      return realpathSync(join(dir, "node_modules", ".pnpm"));
    } catch {
      // Not at this level.
    }
  }
  return undefined;
}
