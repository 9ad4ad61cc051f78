/**
 * The runner removes what it starts itself (labelled, torn down per grade), so Ryuk is not needed, and
 * its image cannot be pulled on offline machines. With a local engine, mapped ports live on localhost;
 * saying so keeps testcontainers from probing for a gateway when it thinks it runs inside a container.
 * Explicit settings in the environment win.
 */
export function configureTestcontainers(env: NodeJS.ProcessEnv = process.env): void {
  env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const host = env.DOCKER_HOST;
  if (!host || host.startsWith("unix://")) env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";
}
