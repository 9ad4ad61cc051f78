import { TRPCError } from "@trpc/server";
import { z } from "zod";
import {
  createApiToken,
  listApiTokens,
  revokeApiToken,
  TooManyApiTokensError,
} from "../../auth/api-tokens.ts";
import { learnerProcedure, router } from "../init.ts";

/** The learner's personal tokens for `labs submit`, made and revoked on the account page. */
export const tokenRouter = router({
  list: learnerProcedure.query(({ ctx }) => listApiTokens(ctx.db.prisma, ctx.user.id)),

  /** The secret is in this reply only: the database keeps its hash. */
  create: learnerProcedure
    .input(z.object({ name: z.string().trim().min(1, "Name the token").max(60) }))
    .mutation(async ({ ctx, input }) => {
      try {
        return await createApiToken(ctx.db.prisma, ctx.user.id, input.name);
      } catch (error) {
        if (error instanceof TooManyApiTokensError)
          throw new TRPCError({ code: "BAD_REQUEST", message: error.message });
        throw error;
      }
    }),

  revoke: learnerProcedure.input(z.object({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
    if (!(await revokeApiToken(ctx.db.prisma, ctx.user.id, input.id)))
      throw new TRPCError({ code: "NOT_FOUND", message: "There is no such token of yours." });
    return { revoked: true };
  }),
});
