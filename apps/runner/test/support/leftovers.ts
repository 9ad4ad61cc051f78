import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import Docker from "dockerode";

/**
 * What a grade without a pool could leave behind: containers and networks of its environment (which is
 * named after the grade), learner processes carrying its id on their command line. Scoped to one grade so
 * concurrent grades elsewhere do not count.
 */
export async function countLeftovers(
  gradeId: string,
): Promise<{ containers: number; networks: number; processes: number }> {
  const docker = new Docker();
  const filters = { label: [`dev.backend-labs.environment=${gradeId}`] };
  let containers = 0;
  let networks = 0;
  try {
    containers = (await docker.listContainers({ all: true, filters })).length;
    networks = (await docker.listNetworks({ filters })).length;
  } catch {
    // No Docker engine: nothing can be left in it.
  }
  return { containers, networks, processes: learnerProcessCount(gradeId) };
}

function learnerProcessCount(gradeId: string): number {
  try {
    return execFileSync("pgrep", ["-f", `learner-harness.ts .* grade=${gradeId}`], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean).length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}

/** Labelled containers of one image, for tests that grade through the CLI and cannot know the grade id. */
export async function countManagedContainersOf(image: string): Promise<number> {
  const containers = await new Docker().listContainers({
    all: true,
    filters: { label: ["dev.backend-labs.managed=true"] },
  });
  return containers.filter((container) => container.Image === image).length;
}

/** Containers and networks labelled as made by the runner process `pid` on this host. */
export async function leftoversOfRunner(pid: number): Promise<{ containers: number; networks: number }> {
  const docker = new Docker();
  const filters = { label: ["dev.backend-labs.runner"] };
  const ours = (labels: Record<string, string> | undefined) =>
    labels?.["dev.backend-labs.runner"]?.startsWith(`${hostname()}:${pid}:`) === true;
  const containers = (await docker.listContainers({ all: true, filters })).filter((c) => ours(c.Labels));
  const networks = (await docker.listNetworks({ filters })).filter((n) => ours(n.Labels));
  return { containers: containers.length, networks: networks.length };
}

/** The scratch folders of the runner process `pid`. */
export function scratchFoldersOf(pid: number): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith(`backend-labs-runner-${pid}-`));
}
