import { createPrismaClient, type PrismaClient } from "@backend-labs/db";
import pg from "pg";
import { serverEnv } from "./env.ts";

export interface Database {
  prisma: PrismaClient;
  /** Plain SQL for the grading queue (enqueue, events); Prisma for everything else. */
  pool: pg.Pool;
}

// One client per process; kept on globalThis so dev-mode module reloads do not open new pools.
const holder = globalThis as typeof globalThis & { backendLabsDatabase?: Database };

export function database(): Database {
  holder.backendLabsDatabase ??= connect(serverEnv().DATABASE_URL);
  return holder.backendLabsDatabase;
}

export function connect(databaseUrl: string): Database {
  return {
    prisma: createPrismaClient(databaseUrl),
    pool: new pg.Pool({ connectionString: databaseUrl, max: 5 }),
  };
}
