// The client side only: safe to import from a Next.js server bundle. Migrations and the embedded
// Postgres have their own entry points (@backend-labs/db/apply-migrations, @backend-labs/db/embedded-postgres),
// so a bundler never has to trace the wasm engine or Postgres binaries.
export { createPrismaClient, type PrismaClientOptions } from "./create-prisma-client.ts";
export * from "./generated/prisma/client.ts";
