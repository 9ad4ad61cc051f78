import { z } from "zod";
import { apiError, apiRefusal, unauthorized } from "../../../../server/api/api-response.ts";
import { findTokenUser } from "../../../../server/auth/api-tokens.ts";
import { filesInput } from "../../../../server/labs/editable-files.ts";
import { startRun } from "../../../../server/labs/start-run.ts";
import { timedRoute } from "../../../../server/metrics/timed-route.ts";
import { platformContext } from "../../../../server/platform.ts";

export const dynamic = "force-dynamic";

// `id`, chosen by the client, makes sending the same Run again (after a dropped connection) safe.
const body = z.object({ id: z.uuid().optional(), labId: z.string().min(1).max(100), files: filesInput });

/**
 * `labs submit`: a Run from the command line, authorized by a personal API token (scoped to this and to
 * reading the learner's own Runs). Same checks and limits as Run in the browser; it shows in the history.
 */
export const POST = timedRoute("/api/v1/submissions", "POST", async (request: Request) => {
  const ctx = platformContext();
  const user = await findTokenUser(ctx.db.prisma, request.headers.get("authorization"));
  if (!user) return unauthorized();
  const parsed = body.safeParse(await request.json().catch(() => undefined));
  if (!parsed.success)
    return apiError(
      400,
      `The body must be JSON { id?, labId, files: { <path>: <content> } }: ${parsed.error.message}`,
    );
  try {
    const { id } = await startRun(ctx, { userId: user.id, ...parsed.data });
    return Response.json(
      { id, state: "queued", url: new URL(`/submissions/${id}`, request.url).toString() },
      { status: 202, headers: { "cache-control": "no-store" } },
    );
  } catch (error) {
    return apiRefusal(error);
  }
});
