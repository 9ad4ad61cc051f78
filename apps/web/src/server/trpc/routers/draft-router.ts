import { z } from "zod";
import { editableFiles, filesInput } from "../../labs/editable-files.ts";
import { requireLab } from "../../labs/require-lab.ts";
import { learnerProcedure, router } from "../init.ts";
import { labId } from "./lab-router.ts";

/** The learner's saved work per lab: the editor saves as they type and restores it on their next visit. */
export const draftRouter = router({
  get: learnerProcedure.input(z.object({ labId })).query(async ({ ctx, input }) => {
    const draft = await ctx.db.prisma.draft.findUnique({
      where: { userId_labId: { userId: ctx.user.id, labId: input.labId } },
    });
    return draft ? { files: draft.files as Record<string, string>, updatedAt: draft.updatedAt } : null;
  }),

  save: learnerProcedure.input(z.object({ labId, files: filesInput })).mutation(async ({ ctx, input }) => {
    const files = editableFiles(requireLab(ctx, input.labId), input.files);
    const draft = await ctx.db.prisma.draft.upsert({
      where: { userId_labId: { userId: ctx.user.id, labId: input.labId } },
      create: { userId: ctx.user.id, labId: input.labId, files },
      update: { files },
    });
    return { updatedAt: draft.updatedAt };
  }),

  /** Back to the starter: the draft is removed, so the lab page shows the starter files again. */
  reset: learnerProcedure.input(z.object({ labId })).mutation(async ({ ctx, input }) => {
    await ctx.db.prisma.draft.deleteMany({ where: { userId: ctx.user.id, labId: input.labId } });
    return { reset: true };
  }),
});
