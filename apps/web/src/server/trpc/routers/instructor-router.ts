import { z } from "zod";
import { browserResult, testCounts } from "../../labs/browser-result.ts";
import { labReport } from "../../labs/lab-report.ts";
import { TRPCError } from "@trpc/server";
import { instructorProcedure, router } from "../init.ts";
import { labId } from "./lab-router.ts";

interface LabStatsRow {
  lab_id: string;
  submissions: number;
  learners: number;
  passed_learners: number;
}

export const instructorRouter = router({
  /** Per lab: how many learners tried it, how many passed, and the pass rate among those who tried. */
  labStats: instructorProcedure.query(async ({ ctx }) => {
    const { rows } = await ctx.db.pool.query<LabStatsRow>(
      `select lab_id,
              count(*)::int as submissions,
              count(distinct user_id)::int as learners,
              (count(distinct user_id) filter (where result_status = 'pass'))::int as passed_learners
         from submissions group by lab_id`,
    );
    const byLab = new Map(rows.map((row) => [row.lab_id, row]));
    const catalog = ctx.catalog.current();
    return {
      labs: catalog.labs.map(({ manifest, section }) => {
        const row = byLab.get(manifest.id);
        const learners = row?.learners ?? 0;
        const passedLearners = row?.passed_learners ?? 0;
        return {
          id: manifest.id,
          title: manifest.title,
          section: section.number,
          submissions: row?.submissions ?? 0,
          learners,
          passedLearners,
          passRate: learners > 0 ? passedLearners / learners : null,
        };
      }),
      invalidLabs: catalog.invalid.map((error) => error.message),
    };
  }),

  /** One lab in depth: failure rates per task and per test, and after how many Runs learners pass. */
  labReport: instructorProcedure.input(z.object({ labId })).query(async ({ ctx, input }) => {
    const lab = ctx.catalog.find(input.labId);
    if (!lab) throw new TRPCError({ code: "NOT_FOUND", message: `There is no lab "${input.labId}".` });
    const report = await labReport(ctx.db.pool, input.labId);
    return {
      id: lab.manifest.id,
      title: lab.manifest.title,
      tasks: report.tasks.map((task) => ({
        ...task,
        title: lab.manifest.tasks.find((candidate) => candidate.id === task.taskId)?.title ?? null,
      })),
      tests: report.tests,
      runsToFirstPass: report.runsToFirstPass,
      learners: report.learners,
      passedLearners: report.passedLearners,
    };
  }),

  /** Any learner's submissions, newest first, optionally for one lab or one learner. */
  submissions: instructorProcedure
    .input(
      z.object({
        labId: labId.optional(),
        email: z.string().trim().toLowerCase().max(254).optional(),
        limit: z.number().int().min(1).max(100).default(50),
      }),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.prisma.submission.findMany({
        where: {
          ...(input.labId && { labId: input.labId }),
          ...(input.email && { user: { email: input.email } }),
        },
        orderBy: { createdAt: "desc" },
        take: input.limit,
        include: { user: { select: { email: true } } },
      });
      return rows.map((row) => ({
        id: row.id,
        labId: row.labId,
        labTitle: ctx.catalog.find(row.labId)?.manifest.title ?? row.labId,
        learner: row.user.email,
        state: row.state,
        resultStatus: row.resultStatus,
        counts: testCounts(row.result),
        message: browserResult(row.result)?.message ?? null,
        createdAt: row.createdAt,
      }));
    }),
});
