import type { LabCatalog } from "../labs/lab-catalog.ts";
import type { Database } from "../db.ts";
import type { SessionUser } from "../auth/session-store.ts";
import type { SignInThrottle } from "../auth/sign-in-throttle.ts";
import type { WebMetrics } from "../metrics/web-metrics.ts";
import type { SubmissionEventFeed } from "@backend-labs/grading-queue";

export interface Limits {
  runsPerMinute: number;
  runsInFlight: number;
  sessionDays: number;
}

/** The HTTP exchange a call arrived in: cookies are read from and written to it. */
export interface HttpExchange {
  url: string;
  headers: Headers;
  sessionToken: string | undefined;
  secureCookies: boolean;
  setCookie(cookie: string): void;
}

/**
 * Everything a procedure may use. Built from a request by the route handler; tests build it directly
 * with a real database (createInnerContext's callers pass their own).
 */
export interface Context {
  db: Database;
  catalog: LabCatalog;
  events: SubmissionEventFeed;
  limits: Limits;
  /** Accounts with these emails are instructors (BACKEND_LABS_INSTRUCTOR_EMAILS). */
  instructorEmails: ReadonlySet<string>;
  signInThrottle: SignInThrottle;
  metrics: WebMetrics;
  user: SessionUser | undefined;
  http: HttpExchange;
}
