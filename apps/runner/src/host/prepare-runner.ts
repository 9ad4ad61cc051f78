import Docker from "dockerode";
import { type SandboxKind } from "../grade/grade-submission.ts";
import { assertDockerReachable, DockerUnavailableError } from "./docker-reachable.ts";
import { sweepLeftovers } from "./sweep-leftovers.ts";

/**
 * Before grading: sweep what dead runners left behind, and settle where learner code runs. The Docker
 * sandbox is the default whenever Docker answers; without Docker the process sandbox is used, with a
 * warning, because it is only for trusted code (a learner grading their own work).
 */
export async function prepareRunner(requested: SandboxKind | undefined): Promise<SandboxKind> {
  let docker: Docker | undefined;
  let unreachable: DockerUnavailableError | undefined;
  try {
    await assertDockerReachable();
    docker = new Docker();
  } catch (error) {
    if (!(error instanceof DockerUnavailableError)) throw error;
    unreachable = error;
  }
  await sweepDeadRunners(docker);
  if (requested === "docker" && unreachable) throw unreachable;
  if (requested) return requested;
  if (docker) return "docker";
  process.stderr.write(
    "labs: Docker is not reachable, so learner code runs as a plain process (the process sandbox): " +
      "fine for your own code, never for code you do not trust. See docs/security.md.\n",
  );
  return "process";
}

/** Removes what dead runners on this host left behind, and says so on stderr when there was any. */
export async function sweepDeadRunners(docker: Docker | undefined): Promise<void> {
  const swept = await sweepLeftovers(docker);
  const total = swept.containers + swept.networks + swept.processes + swept.folders;
  if (total > 0) {
    process.stderr.write(
      `labs: removed what runners that died left behind: ${swept.containers} container(s), ` +
        `${swept.networks} network(s), ${swept.processes} process(es), ${swept.folders} folder(s)\n`,
    );
  }
}
