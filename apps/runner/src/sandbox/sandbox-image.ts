/** The image learner code runs in under the Docker sandbox: Node 24; infra/ builds a local stand-in. */
export function sandboxImage(env: NodeJS.ProcessEnv = process.env): string {
  return env.BACKEND_LABS_SANDBOX_IMAGE?.trim() || "node:24-bookworm-slim";
}
