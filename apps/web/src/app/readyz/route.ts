import { database } from "../../server/db.ts";
import { serverEnv } from "../../server/env.ts";
import { readiness } from "../../server/health/readiness.ts";
import { platform } from "../../server/platform.ts";

// Readiness: 200 when this process can serve learners, 503 naming the failing checks when it cannot.
export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  const result = await readiness({
    pool: database().pool,
    catalog: platform().catalog,
    migrationsDir: serverEnv().migrationsDir,
  });
  return Response.json(result, {
    status: result.ready ? 200 : 503,
    headers: { "cache-control": "no-store" },
  });
}
