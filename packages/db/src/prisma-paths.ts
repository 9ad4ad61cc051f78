import path from "node:path";

/** Where Prisma's own CLI also looks, so `prisma migrate deploy` reads the same files on a normal machine. */
export const prismaDir = path.join(import.meta.dirname, "..", "prisma");
export const schemaPath = path.join(prismaDir, "schema.prisma");
export const migrationsDir = path.join(prismaDir, "migrations");
