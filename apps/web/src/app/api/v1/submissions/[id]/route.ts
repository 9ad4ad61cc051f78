import { z } from "zod";
import { apiError, unauthorized } from "../../../../../server/api/api-response.ts";
import { findTokenUser } from "../../../../../server/auth/api-tokens.ts";
import { browserResult } from "../../../../../server/labs/browser-result.ts";
import { timedRoute } from "../../../../../server/metrics/timed-route.ts";
import { platformContext } from "../../../../../server/platform.ts";

export const dynamic = "force-dynamic";

/** One of the token owner's Runs: its state, and its result (without the grader's test code) once graded. */
export const GET = timedRoute(
  "/api/v1/submissions/[id]",
  "GET",
  async (request: Request, { params }: { params: Promise<{ id: string }> }) => {
    const ctx = platformContext();
    const user = await findTokenUser(ctx.db.prisma, request.headers.get("authorization"));
    if (!user) return unauthorized();
    const { id } = await params;
    const submission = z.uuid().safeParse(id).success
      ? await ctx.db.prisma.submission.findUnique({ where: { id } })
      : null;
    if (!submission || submission.userId !== user.id) return apiError(404, "There is no such Run of yours.");
    return Response.json(
      {
        id: submission.id,
        labId: submission.labId,
        state: submission.state,
        result: browserResult(submission.result),
      },
      { headers: { "cache-control": "no-store" } },
    );
  },
);
