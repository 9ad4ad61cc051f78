import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/**
 * Labs written before mutation testing and the README ↔ test table existed, whose graders are still being
 * made strong. For them `labs validate` shows the missing table or report as a notice instead of failing;
 * everything else (solutions pass, starter and every mutant and probe fail) is enforced as for any lab.
 * The list only shrinks: a lab on it that meets the bar is an error until it is taken off.
 */
export const strengthBacklogFile = "strength-backlog.json";

const strengthBacklogSchema = z.strictObject({
  why: z.string().min(1),
  labs: z.array(z.string().min(1)),
});

export function readStrengthBacklog(labsRoot: string): Set<string> {
  const path = join(labsRoot, strengthBacklogFile);
  if (!existsSync(path)) return new Set();
  return new Set(strengthBacklogSchema.parse(JSON.parse(readFileSync(path, "utf8"))).labs);
}
