import { z } from "zod";
import { type SandboxKind } from "../environments/environment-shape.ts";
import { type WorkerOptions } from "../worker/run-worker.ts";
import { UsageError } from "./usage-error.ts";

/** What `labs worker` receives from its flags (strings, as typed) and the environment. */
export interface RawWorkerOptions {
  databaseUrl?: string;
  concurrency: string;
  leaseSeconds: string;
  pollSeconds: string;
  sandbox: SandboxKind;
  trustedCode?: boolean;
  once?: boolean;
  pool: boolean;
  prewarm: "all" | "none";
  healthPort?: string;
  healthHost?: string;
}

const seconds = (min: number, max: number) => z.coerce.number().min(min).max(max);

const schema = z.object({
  databaseUrl: z
    .string({ error: "set DATABASE_URL or pass --database-url" })
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL"),
  concurrency: z.coerce.number().int().min(1).max(16),
  leaseSeconds: seconds(1, 3600),
  pollSeconds: seconds(0.1, 3600),
  healthPort: z.coerce.number().int().min(0).max(65535).optional(),
});

/**
 * Validates the worker's settings. The process sandbox is refused without --trusted-code: the worker
 * runs code anyone submitted through the web app, and only the Docker sandbox contains it.
 */
export function parseWorkerOptions(
  raw: RawWorkerOptions,
  env: NodeJS.ProcessEnv = process.env,
): WorkerOptions {
  if (raw.sandbox === "process" && raw.trustedCode !== true) {
    throw new UsageError(
      "labs worker grades code submitted through the web app, which is untrusted: it runs it only in the " +
        "Docker sandbox. --sandbox process gives learner code your user's rights on this machine; pass " +
        "--trusted-code as well only if every submission comes from someone you trust (see docs/security.md).",
    );
  }
  const parsed = schema.safeParse({ ...raw, databaseUrl: raw.databaseUrl ?? env.DATABASE_URL });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `--${flagName(issue.path[0])}: ${issue.message}`);
    throw new UsageError(`labs worker: ${problems.join("; ")}`);
  }
  const { databaseUrl, concurrency, leaseSeconds, pollSeconds, healthPort } = parsed.data;
  return {
    databaseUrl,
    // One job, one slot: --once is for scripts and tests.
    concurrency: raw.once === true ? 1 : concurrency,
    leaseMs: leaseSeconds * 1000,
    pollMs: pollSeconds * 1000,
    sandbox: raw.sandbox,
    once: raw.once === true,
    pool: raw.pool,
    prewarm: raw.prewarm,
    ...(healthPort !== undefined && { healthPort }),
    ...(raw.healthHost !== undefined && { healthHost: raw.healthHost }),
  };
}

function flagName(key: PropertyKey | undefined): string {
  return String(key).replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
