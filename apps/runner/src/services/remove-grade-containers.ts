import Docker from "dockerode";
import { gradeLabels } from "./started-service.ts";

/**
 * Force-removes every container and network labelled with the grade, including ones a failed start left
 * created but not running (testcontainers does not remove those).
 */
export async function removeGradeContainers(gradeId: string): Promise<void> {
  const docker = new Docker();
  const label = `dev.backend-labs.grade=${gradeLabels(gradeId)["dev.backend-labs.grade"]}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.allSettled(
    containers.map((info) => docker.getContainer(info.Id).remove({ force: true, v: true })),
  );
  const networks = await docker.listNetworks({ filters: { label: [label] } });
  await Promise.allSettled(networks.map((info) => docker.getNetwork(info.Id).remove()));
}
