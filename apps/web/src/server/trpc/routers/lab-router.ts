import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { publicLab } from "@backend-labs/lab-format";
import { type LearnerProgress, learnerProgress } from "../../labs/learner-progress.ts";
import { nextLabAfter, roadmapView } from "../../labs/roadmap-view.ts";
import { publicProcedure, router } from "../init.ts";

export const labId = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[a-z0-9-]+$/, "not a lab id");

const noProgress: LearnerProgress = { labs: new Map(), lastWorkedOn: null };

export const labRouter = router({
  roadmap: publicProcedure.query(async ({ ctx }) => {
    const progress = ctx.user ? await learnerProgress(ctx.db.prisma, ctx.user.id) : noProgress;
    return roadmapView(ctx.catalog.current(), progress.labs);
  }),

  /** Where a returning learner picks up: the lab they last worked on and have not passed. */
  continueWhereLeftOff: publicProcedure.query(async ({ ctx }) => {
    if (!ctx.user) return null;
    const { lastWorkedOn } = await learnerProgress(ctx.db.prisma, ctx.user.id);
    const lab = lastWorkedOn ? ctx.catalog.find(lastWorkedOn) : undefined;
    return lab ? { id: lab.manifest.id, title: lab.manifest.title } : null;
  }),

  get: publicProcedure.input(z.object({ labId })).query(async ({ ctx, input }) => {
    const lab = ctx.catalog.find(input.labId);
    if (!lab) throw new TRPCError({ code: "NOT_FOUND", message: `There is no lab "${input.labId}".` });
    const progress = ctx.user ? await learnerProgress(ctx.db.prisma, ctx.user.id) : noProgress;
    const roadmap = roadmapView(ctx.catalog.current(), progress.labs);
    return {
      ...publicLab(lab),
      progress: progress.labs.get(input.labId) ?? "not-started",
      nextLab: nextLabAfter(roadmap, input.labId),
    };
  }),
});
