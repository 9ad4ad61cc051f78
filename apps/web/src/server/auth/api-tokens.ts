import { randomBytes } from "node:crypto";
import type { PrismaClient } from "@backend-labs/db";
import type { SessionUser } from "./session-store.ts";
import { tokenHash } from "./token-hash.ts";

/** Tokens start with it, so a secret scanner (or a learner) can tell one in a log or a repository. */
export const apiTokenPrefix = "blt_";
export const maxApiTokens = 10;

export interface ApiTokenRow {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export class TooManyApiTokensError extends Error {
  constructor() {
    super(`You have ${maxApiTokens} tokens already: revoke one you no longer use first.`);
    this.name = "TooManyApiTokensError";
  }
}

const listed = { id: true, name: true, createdAt: true, lastUsedAt: true } as const;

/** A new token for `labs submit`: the secret is returned once and stored only as its hash. */
export async function createApiToken(
  prisma: PrismaClient,
  userId: string,
  name: string,
): Promise<ApiTokenRow & { token: string }> {
  const active = await prisma.apiToken.count({ where: { userId, revokedAt: null } });
  if (active >= maxApiTokens) throw new TooManyApiTokensError();
  const token = `${apiTokenPrefix}${randomBytes(32).toString("base64url")}`;
  const row = await prisma.apiToken.create({
    data: { userId, name, tokenHash: tokenHash(token) },
    select: listed,
  });
  return { ...row, token };
}

export function listApiTokens(prisma: PrismaClient, userId: string): Promise<ApiTokenRow[]> {
  return prisma.apiToken.findMany({
    where: { userId, revokedAt: null },
    orderBy: { createdAt: "desc" },
    select: listed,
  });
}

/** Revokes one of the user's tokens; false when it is not theirs or was revoked already. */
export async function revokeApiToken(prisma: PrismaClient, userId: string, id: string): Promise<boolean> {
  const { count } = await prisma.apiToken.updateMany({
    where: { id, userId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count === 1;
}

/** The user an `Authorization: Bearer <token>` header speaks for, or undefined (no, unknown or revoked token). */
export async function findTokenUser(
  prisma: PrismaClient,
  authorization: string | null,
): Promise<SessionUser | undefined> {
  const token = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
  if (!token?.startsWith(apiTokenPrefix) || token.length > 100) return undefined;
  const row = await prisma.apiToken.findUnique({
    where: { tokenHash: tokenHash(token) },
    include: { user: { select: { id: true, email: true, role: true } } },
  });
  if (!row || row.revokedAt) return undefined;
  // Once a minute is enough for "last used", and `labs submit` polls every second.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000)
    await prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  return row.user;
}
