import { execFileSync } from "node:child_process";
import Docker from "dockerode";

/**
 * What a grade could leave behind: containers and networks labelled with its id, learner processes
 * carrying it on their command line. Scoped to one grade so concurrent grades elsewhere do not count.
 */
export async function countLeftovers(
  gradeId: string,
): Promise<{ containers: number; networks: number; processes: number }> {
  const docker = new Docker();
  const filters = { label: [`dev.backend-labs.grade=${gradeId}`] };
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
