// Liveness: the process serves requests. It checks nothing else, so a database outage never makes an
// orchestrator restart healthy web processes (that is /readyz's job: take them out of rotation).
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json({ status: "alive" }, { headers: { "cache-control": "no-store" } });
}
