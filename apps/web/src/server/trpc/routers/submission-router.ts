import { cancelSubmission, followSubmissionEvents } from "@backend-labs/grading-queue";
import { tracked, TRPCError } from "@trpc/server";
import { z } from "zod";
import { browserResult, testCounts } from "../../labs/browser-result.ts";
import { filesInput } from "../../labs/editable-files.ts";
import { startRun } from "../../labs/start-run.ts";
import type { Context } from "../context.ts";
import { learnerProcedure, router } from "../init.ts";
import { labId } from "./lab-router.ts";

const submissionId = z.uuid("not a submission id");

/** A submission the caller may see: their own, or anyone's for an instructor. */
async function visibleSubmission(ctx: Context & { user: NonNullable<Context["user"]> }, id: string) {
  const submission = await ctx.db.prisma.submission.findUnique({ where: { id } });
  if (!submission) throw new TRPCError({ code: "NOT_FOUND", message: "There is no such submission." });
  if (submission.userId !== ctx.user.id && ctx.user.role !== "instructor") {
    throw new TRPCError({ code: "FORBIDDEN", message: "This submission belongs to another learner." });
  }
  return submission;
}

export const submissionRouter = router({
  /** `id`, chosen by the browser, makes sending the same Run again (after a dropped connection) safe. */
  run: learnerProcedure
    .input(z.object({ id: submissionId.optional(), labId, files: filesInput }))
    .mutation(async ({ ctx, input }) => startRun(ctx, { userId: ctx.user.id, ...input })),

  /** Stops one of the caller's Runs that has no result yet: out of the queue, or its grade aborted. */
  cancel: learnerProcedure.input(z.object({ id: submissionId })).mutation(async ({ ctx, input }) => {
    if (await cancelSubmission(ctx.db.pool, input.id, ctx.user.id)) return { cancelled: true };
    const submission = await ctx.db.prisma.submission.findUnique({ where: { id: input.id } });
    if (!submission || submission.userId !== ctx.user.id)
      throw new TRPCError({ code: "NOT_FOUND", message: "There is no such Run of yours." });
    // It ended while the learner clicked: nothing to stop, and the result stands.
    return { cancelled: false };
  }),

  list: learnerProcedure
    .input(z.object({ labId, limit: z.number().int().min(1).max(50).default(20) }))
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.prisma.submission.findMany({
        where: { userId: ctx.user.id, labId: input.labId },
        orderBy: { createdAt: "desc" },
        take: input.limit,
        select: {
          id: true,
          createdAt: true,
          finishedAt: true,
          state: true,
          resultStatus: true,
          result: true,
        },
      });
      return rows.map(({ result, ...row }) => ({ ...row, counts: testCounts(result) }));
    }),

  get: learnerProcedure.input(z.object({ id: submissionId })).query(async ({ ctx, input }) => {
    const submission = await visibleSubmission(ctx, input.id);
    return {
      id: submission.id,
      labId: submission.labId,
      files: submission.files as Record<string, string>,
      state: submission.state,
      attempts: submission.attempts,
      resultStatus: submission.resultStatus,
      result: browserResult(submission.result),
      createdAt: submission.createdAt,
      finishedAt: submission.finishedAt,
    };
  }),

  /**
   * Live progress of one submission: first what already happened, then each event as the worker
   * records it, until the grade finishes. Resumable: a reconnecting client sends the last event id.
   */
  watch: learnerProcedure
    .input(z.object({ id: submissionId, lastEventId: z.string().regex(/^\d+$/).nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      await visibleSubmission(ctx, input.id);
      ctx.metrics.liveSubscriptions.inc();
      try {
        const events = followSubmissionEvents(ctx.db.pool, ctx.events, input.id, {
          ...(input.lastEventId && { afterEventId: input.lastEventId }),
          ...(signal && { signal }),
        });
        for await (const stored of events) yield tracked(stored.id, stored.event);
      } finally {
        ctx.metrics.liveSubscriptions.dec();
      }
    }),
});
