import { randomBytes } from "node:crypto";
import type { PrismaClient, Role } from "@backend-labs/db";
import { tokenHash } from "./token-hash.ts";

export interface SessionUser {
  id: string;
  email: string;
  role: Role;
}

export async function createSession(
  prisma: PrismaClient,
  userId: string,
  days: number,
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + days * 24 * 60 * 60 * 1000);
  await prisma.session.create({ data: { id: tokenHash(token), userId, expiresAt } });
  return { token, expiresAt };
}

/** The signed-in user for a session token, or undefined when the session is unknown, ended or expired. */
export async function findSessionUser(
  prisma: PrismaClient,
  token: string | undefined,
): Promise<SessionUser | undefined> {
  if (!token || token.length > 100) return undefined;
  const session = await prisma.session.findUnique({
    where: { id: tokenHash(token) },
    include: { user: { select: { id: true, email: true, role: true } } },
  });
  if (!session) return undefined;
  if (session.expiresAt.getTime() <= Date.now()) {
    await prisma.session.deleteMany({ where: { id: session.id } });
    return undefined;
  }
  return session.user;
}

export async function deleteSession(prisma: PrismaClient, token: string): Promise<void> {
  await prisma.session.deleteMany({ where: { id: tokenHash(token) } });
}
