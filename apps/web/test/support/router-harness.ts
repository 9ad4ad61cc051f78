import { fileURLToPath } from "node:url";
import { startTestDatabase } from "@backend-labs/db/testing";
import { SubmissionEventFeed } from "@backend-labs/grading-queue";
import { csrfCookieName, csrfHeaderName, sessionCookieName } from "../../src/server/auth/cookies.ts";
import { findSessionUser } from "../../src/server/auth/session-store.ts";
import { SignInThrottle } from "../../src/server/auth/sign-in-throttle.ts";
import { connect } from "../../src/server/db.ts";
import { labCatalog } from "../../src/server/labs/lab-catalog.ts";
import { WebMetrics } from "../../src/server/metrics/web-metrics.ts";
import { createCaller } from "../../src/server/trpc/app-router.ts";
import type { Context, Limits } from "../../src/server/trpc/context.ts";

export const labsDir = fileURLToPath(new URL("../../../../labs", import.meta.url));
const appUrl = "http://localhost:3000/api/trpc";
const csrfToken = "test-csrf-token-0123456789abcdef";

export interface CallOptions {
  /** The session cookie's token, as a browser would send it. */
  sessionToken?: string | undefined;
  /** Send the CSRF cookie and header (default true). */
  csrf?: boolean;
  origin?: string;
}

/**
 * The app's tRPC router against a real, migrated Postgres, called the way the route handler calls it:
 * from cookies and headers. Cookies the server sets are collected per call.
 */
export async function startRouterHarness(limits: Partial<Limits> = {}) {
  const database = await startTestDatabase();
  const db = connect(database.url);
  const events = new SubmissionEventFeed({ connection: database.url });
  const catalog = labCatalog(labsDir, { reload: false });
  const signInThrottle = new SignInThrottle(db.pool, { maxFailures: 3 });
  const metrics = new WebMetrics(db.pool);
  const fullLimits: Limits = { runsPerMinute: 6, runsInFlight: 2, sessionDays: 30, ...limits };

  async function call(options: CallOptions = {}) {
    const headers = new Headers();
    const cookies = [];
    if (options.csrf !== false) {
      cookies.push(`${csrfCookieName}=${csrfToken}`);
      headers.set(csrfHeaderName, csrfToken);
    }
    if (options.sessionToken) cookies.push(`${sessionCookieName}=${options.sessionToken}`);
    if (cookies.length > 0) headers.set("cookie", cookies.join("; "));
    if (options.origin) headers.set("origin", options.origin);
    const setCookies: string[] = [];
    const context: Context = {
      db,
      catalog,
      events,
      limits: fullLimits,
      instructorEmails: new Set(["named-instructor@example.com"]),
      signInThrottle,
      metrics,
      user: await findSessionUser(db.prisma, options.sessionToken),
      http: {
        url: appUrl,
        headers,
        sessionToken: options.sessionToken,
        secureCookies: false,
        setCookie: (cookie) => setCookies.push(cookie),
      },
    };
    return { api: createCaller(context), setCookies };
  }

  /** Signs up a new learner and returns their session token (from the Set-Cookie header). */
  async function signUp(email: string, password = "correct horse battery") {
    const { api, setCookies } = await call();
    const user = await api.auth.signUp({ email, password });
    return { user, sessionToken: sessionTokenFrom(setCookies) };
  }

  async function signUpInstructor(email: string) {
    const account = await signUp(email);
    await db.prisma.user.update({ where: { id: account.user.id }, data: { role: "instructor" } });
    return account;
  }

  return {
    db,
    databaseUrl: database.url,
    metrics,
    catalog,
    call,
    signUp,
    signUpInstructor,
    async [Symbol.asyncDispose]() {
      await events.close();
      await db.prisma.$disconnect();
      await db.pool.end();
      await database[Symbol.asyncDispose]();
    },
  };
}

export function sessionTokenFrom(setCookies: string[]): string {
  const cookie = setCookies.find((value) => value.startsWith(`${sessionCookieName}=`));
  if (!cookie) throw new Error(`no session cookie in ${JSON.stringify(setCookies)}`);
  return cookie.slice(sessionCookieName.length + 1).split(";")[0]!;
}
