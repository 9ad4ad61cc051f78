import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { publicLab } from "@backend-labs/lab-format";
import { type LabProgress, learnerProgress } from "../../labs/learner-progress.ts";
import { roadmapView } from "../../labs/roadmap-view.ts";
import { publicProcedure, router } from "../init.ts";

export const labId = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[a-z0-9-]+$/, "not a lab id");

const noProgress: ReadonlyMap<string, LabProgress> = new Map();

export const labRouter = router({
  roadmap: publicProcedure.query(async ({ ctx }) => {
    const progress = ctx.user ? await learnerProgress(ctx.db.prisma, ctx.user.id) : noProgress;
    return roadmapView(ctx.catalog.current(), progress);
  }),

  get: publicProcedure.input(z.object({ labId })).query(async ({ ctx, input }) => {
    const lab = ctx.catalog.find(input.labId);
    if (!lab) throw new TRPCError({ code: "NOT_FOUND", message: `There is no lab "${input.labId}".` });
    const progress = ctx.user ? await learnerProgress(ctx.db.prisma, ctx.user.id) : noProgress;
    return { ...publicLab(lab), progress: progress.get(input.labId) ?? "not-started" };
  }),
});
