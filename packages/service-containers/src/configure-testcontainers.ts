/**
 * Settings testcontainers needs on machines like CI's: Ryuk's image cannot be pulled there (the runner and
 * the tests remove what they start, by label), and with a local Docker engine mapped ports live on
 * localhost, which keeps testcontainers from probing for a gateway when it believes it runs inside a
 * container (/.dockerenv). Explicit settings in the environment win.
 */
export function configureTestcontainers(env: NodeJS.ProcessEnv = process.env): void {
  env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const host = env.DOCKER_HOST;
  if (!host || host.startsWith("unix://")) env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";
}
