import Docker from "dockerode";

/** Docker is needed to start services; without it there is nothing to grade against. */
export class DockerUnavailableError extends Error {
  constructor(cause: unknown) {
    const where = process.env.DOCKER_HOST ?? "/var/run/docker.sock";
    super(
      `Docker is not reachable at ${where} (${(cause as Error).message}). Start the Docker engine ` +
        "(e.g. `sudo systemctl start docker`; on this project's dev machines `bash infra/docker/start-dockerd.sh`) " +
        "or point DOCKER_HOST at one.",
      { cause },
    );
    this.name = "DockerUnavailableError";
  }
}

export async function assertDockerReachable(timeoutMs = 5_000): Promise<void> {
  const docker = new Docker();
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_resolve, reject) =>
        setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  } catch (error) {
    throw new DockerUnavailableError(error);
  }
}
