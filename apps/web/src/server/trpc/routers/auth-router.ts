import { Prisma, type Role } from "@backend-labs/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { clearedSessionCookie, sessionCookie } from "../../auth/cookies.ts";
import { maximumPasswordLength, minimumPasswordLength } from "../../../lib/password-rules.ts";
import { decoyPasswordHash, hashPassword, verifyPassword } from "../../auth/password.ts";
import { passwordWeakness } from "../../auth/password-strength.ts";
import { createSession, deleteSession } from "../../auth/session-store.ts";
import type { Context } from "../context.ts";
import { RetryAfter } from "../retry-after.ts";
import { publicProcedure, router } from "../init.ts";

const email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, "That email address is too long.")
  .pipe(z.email("Enter a valid email address."));

const credentials = z.object({
  email,
  password: z
    .string()
    .min(1, "Enter your password.")
    .max(maximumPasswordLength, `Passwords are at most ${maximumPasswordLength} characters.`),
});

const newCredentials = credentials
  .extend({
    password: z
      .string()
      .min(minimumPasswordLength, `Use at least ${minimumPasswordLength} characters.`)
      .max(maximumPasswordLength, `Passwords are at most ${maximumPasswordLength} characters.`),
  })
  .superRefine(({ email, password }, ctx) => {
    const weakness = passwordWeakness(password, [email, ...email.split(/[@.+_-]/)]);
    if (weakness) ctx.addIssue({ code: "custom", path: ["password"], message: weakness });
  });

async function startSession(ctx: Context, found: { id: string; email: string; role: Role }) {
  const user = await withConfiguredRole(ctx, found);
  const { token, expiresAt } = await createSession(ctx.db.prisma, user.id, ctx.limits.sessionDays);
  ctx.http.setCookie(sessionCookie(token, expiresAt, ctx.http.secureCookies));
  return { id: user.id, email: user.email, role: user.role };
}

/** Accounts listed in BACKEND_LABS_INSTRUCTOR_EMAILS become instructors when they sign up or in. */
async function withConfiguredRole<T extends { id: string; email: string; role: Role }>(
  ctx: Context,
  user: T,
): Promise<T> {
  if (user.role === "instructor" || !ctx.instructorEmails.has(user.email)) return user;
  await ctx.db.prisma.user.update({ where: { id: user.id }, data: { role: "instructor" } });
  return { ...user, role: "instructor" };
}

export const authRouter = router({
  me: publicProcedure.query(({ ctx }) => ctx.user ?? null),

  signUp: publicProcedure.input(newCredentials).mutation(async ({ ctx, input }) => {
    const passwordHash = await hashPassword(input.password);
    try {
      const user = await ctx.db.prisma.user.create({ data: { email: input.email, passwordHash } });
      return await startSession(ctx, user);
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        throw new TRPCError({
          code: "CONFLICT",
          message: "An account with this email already exists. Sign in instead.",
        });
      }
      throw error;
    }
  }),

  signIn: publicProcedure.input(credentials).mutation(async ({ ctx, input }) => {
    const waitSeconds = await ctx.signInThrottle.retryAfterSeconds(input.email);
    if (waitSeconds > 0) {
      ctx.metrics.rateLimited.inc({ limit: "sign_in" });
      throw new TRPCError({
        code: "TOO_MANY_REQUESTS",
        message: `Too many failed sign-ins for this email. Try again in ${Math.ceil(waitSeconds / 60)} min.`,
        cause: new RetryAfter(Math.ceil(waitSeconds)),
      });
    }
    const user = await ctx.db.prisma.user.findUnique({ where: { email: input.email } });
    const valid = await verifyPassword(user?.passwordHash ?? (await decoyPasswordHash), input.password);
    if (!user || !valid) {
      await ctx.signInThrottle.recordFailure(input.email);
      ctx.metrics.signInFailures.inc();
      throw new TRPCError({ code: "UNAUTHORIZED", message: "Wrong email or password." });
    }
    await ctx.signInThrottle.recordSuccess(input.email);
    return startSession(ctx, user);
  }),

  signOut: publicProcedure.mutation(async ({ ctx }) => {
    if (ctx.http.sessionToken) await deleteSession(ctx.db.prisma, ctx.http.sessionToken);
    ctx.http.setCookie(clearedSessionCookie(ctx.http.secureCookies));
    return { signedOut: true };
  }),
});
