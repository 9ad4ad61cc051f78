import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.ts";

export interface PrismaClientOptions {
  /** Pool size; pg's default of 10 suits one web server process against a local Postgres. */
  maxConnections?: number;
}

/** A Prisma client over node-postgres (Prisma 7's query compiler: no native engine). Call $disconnect() when done. */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.maxConnections ?? 10 });
  return new PrismaClient({ adapter });
}
