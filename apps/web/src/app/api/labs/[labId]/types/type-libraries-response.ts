import type { Lab } from "@backend-labs/lab-format";
import { servedLabTypeLibraries } from "../../../../../server/lab-type-libraries.ts";

/** GET /api/labs/[labId]/types: the lab's LabTypeLibraries as JSON, or 404 for an unknown lab. */
export function typeLibrariesResponse(
  request: Request,
  labId: string,
  lab: Lab | undefined,
  labsDir: string,
): Response {
  if (!lab) return Response.json({ error: `unknown lab "${labId}"` }, { status: 404 });

  const { etag, json } = servedLabTypeLibraries(lab, labsDir);
  // Declarations of public packages; revalidated on every use so that a changed lab shows at once. Next
  // compresses the body (about 3 MB of JSON, 0.5 MB gzipped); a route handler cannot send it pre-compressed.
  const headers = new Headers({ ETag: etag, "Cache-Control": "public, max-age=0, must-revalidate" });
  if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
  headers.set("Content-Type", "application/json; charset=utf-8");
  return new Response(json, { headers });
}
