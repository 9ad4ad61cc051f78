import { SubmissionEventFeed } from "@backend-labs/grading-queue";
import { SignInThrottle } from "./auth/sign-in-throttle.ts";
import { database } from "./db.ts";
import { serverEnv } from "./env.ts";
import { type LabCatalog, labCatalog } from "./labs/lab-catalog.ts";
import { WebMetrics } from "./metrics/web-metrics.ts";
import type { Context, Limits } from "./trpc/context.ts";

interface Platform {
  catalog: LabCatalog;
  events: SubmissionEventFeed;
  limits: Limits;
  instructorEmails: ReadonlySet<string>;
  signInThrottle: SignInThrottle;
  metrics: WebMetrics;
}

// Process-wide services, kept on globalThis so dev-mode module reloads reuse them.
const holder = globalThis as typeof globalThis & { backendLabsPlatform?: Platform };

export function platform(): Platform {
  if (!holder.backendLabsPlatform) {
    const env = serverEnv();
    holder.backendLabsPlatform = {
      catalog: labCatalog(env.labsDir, { reload: env.NODE_ENV !== "production" }),
      events: new SubmissionEventFeed({ connection: env.DATABASE_URL }),
      limits: {
        runsPerMinute: env.BACKEND_LABS_RUNS_PER_MINUTE,
        runsInFlight: env.BACKEND_LABS_RUNS_IN_FLIGHT,
        sessionDays: env.BACKEND_LABS_SESSION_DAYS,
      },
      instructorEmails: env.BACKEND_LABS_INSTRUCTOR_EMAILS,
      signInThrottle: new SignInThrottle(database().pool),
      metrics: new WebMetrics(database().pool),
    };
  }
  return holder.backendLabsPlatform;
}

export function platformContext(): Omit<Context, "user" | "http"> {
  return { db: database(), ...platform() };
}
