import { enqueueSubmission } from "@backend-labs/grading-queue";
import { TRPCError } from "@trpc/server";
import { inFlightStates } from "../../lib/run-states.ts";
import type { Context } from "../trpc/context.ts";
import { RetryAfter } from "../trpc/retry-after.ts";
import { editableFiles } from "./editable-files.ts";
import { requireLab } from "./require-lab.ts";

type RunContext = Pick<Context, "db" | "catalog" | "limits" | "metrics">;

export interface RunRequest {
  userId: string;
  labId: string;
  files: Record<string, string>;
  /** Chosen by the browser per click of Run, so that sending it again after a dropped connection is safe. */
  id?: string;
}

/**
 * Queues a learner's Run of a lab: the same checks and limits whether it comes from the browser or from
 * `labs submit` (the lab exists, only its editable files, the learner's per-minute and in-flight limits).
 * A Run whose id is already queued is not queued again: the answer is the same as the first time.
 */
export async function startRun(ctx: RunContext, run: RunRequest): Promise<{ id: string }> {
  const { userId, labId, id: runId } = run;
  const accepted = editableFiles(requireLab(ctx, labId), run.files);
  if (runId && (await isStartedBy(ctx, userId, runId))) return { id: runId };
  await checkRunAllowance(ctx, userId);
  const { id, created } = await enqueueSubmission(ctx.db.pool, { id: runId, userId, labId, files: accepted });
  // A copy of this request won the race to queue it.
  if (!created && !(await isStartedBy(ctx, userId, id))) throw runIdTaken();
  return { id };
}

/** True when the learner's Run with this id exists already; refused when the id is someone else's. */
async function isStartedBy(ctx: RunContext, userId: string, id: string): Promise<boolean> {
  const existing = await ctx.db.prisma.submission.findUnique({ where: { id }, select: { userId: true } });
  if (existing && existing.userId !== userId) throw runIdTaken();
  return existing !== null;
}

function runIdTaken(): TRPCError {
  return new TRPCError({ code: "CONFLICT", message: "This Run id belongs to another Run. Press Run again." });
}

/** Refuses a run when the learner has started too many lately or has too many waiting. */
async function checkRunAllowance(ctx: RunContext, userId: string): Promise<void> {
  const { runsPerMinute, runsInFlight } = ctx.limits;
  const since = new Date(Date.now() - 60_000);
  const [recent, inFlight] = await Promise.all([
    ctx.db.prisma.submission.findMany({
      where: { userId, createdAt: { gt: since } },
      select: { createdAt: true },
      orderBy: { createdAt: "asc" },
    }),
    ctx.db.prisma.submission.count({ where: { userId, state: { in: [...inFlightStates] } } }),
  ]);
  if (recent.length >= runsPerMinute) {
    ctx.metrics.rateLimited.inc({ limit: "runs_per_minute" });
    const oldest = recent[0]!.createdAt.getTime();
    const waitSeconds = Math.max(1, Math.ceil((oldest + 60_000 - Date.now()) / 1000));
    throw new TRPCError({
      code: "TOO_MANY_REQUESTS",
      message: `You can run your code ${runsPerMinute} times a minute. Try again in ${waitSeconds} s.`,
      cause: new RetryAfter(waitSeconds),
    });
  }
  if (inFlight >= runsInFlight) {
    ctx.metrics.rateLimited.inc({ limit: "runs_in_flight" });
    throw new TRPCError({
      code: "TOO_MANY_REQUESTS",
      message: `You already have ${inFlight} run(s) waiting or running. Wait for one to finish.`,
    });
  }
}
