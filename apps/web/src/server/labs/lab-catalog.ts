import { type Catalog, discoverLabs, type Lab } from "@backend-labs/lab-format";
import { log } from "../log.ts";

export interface LabCatalog {
  /** The catalog as it is on disk now (development) or as it was at start (production). */
  current(): Catalog;
  find(labId: string): Lab | undefined;
}

/**
 * The labs/ folder as the web app sees it. In development every call reads the folder again, so an
 * instructor editing a lab sees the change on reload; in production it is read once. An invalid lab is
 * reported on stderr (once per problem) and left out; it never takes the catalog down.
 */
export function labCatalog(labsDir: string, { reload }: { reload: boolean }): LabCatalog {
  let cached: Catalog | undefined;
  const reported = new Set<string>();
  const current = (): Catalog => {
    if (cached && !reload) return cached;
    const catalog = discoverLabs(labsDir);
    for (const problem of catalog.invalid) {
      if (reported.has(problem.message)) continue;
      reported.add(problem.message);
      log().warn({ problem: problem.message }, "skipped an invalid lab");
    }
    cached = catalog;
    return catalog;
  };
  return {
    current,
    find: (labId) => current().labs.find((lab) => lab.manifest.id === labId),
  };
}
