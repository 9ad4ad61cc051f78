import { timingSafeEqual } from "node:crypto";
import { serverEnv } from "../../server/env.ts";
import { platform } from "../../server/platform.ts";

// Prometheus's scrape target. With BACKEND_LABS_METRICS_TOKEN set it wants `Authorization: Bearer <it>`;
// without, keep /metrics off the public internet at the proxy (docs/web-app.md).
export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const expected = serverEnv().BACKEND_LABS_METRICS_TOKEN;
  if (expected && !sameSecret(request.headers.get("authorization") ?? "", `Bearer ${expected}`))
    return new Response("metrics need the scrape token\n", { status: 401 });
  const { registry } = platform().metrics;
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType, "cache-control": "no-store" },
  });
}

function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}
