import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../cli/usage-error.ts";

export interface BatchSubmission {
  /** The subfolder's name: the student, team or repository it holds. */
  name: string;
  dir: string;
}

/**
 * The submissions of a batch folder: one per subfolder, in name order. Plain files beside them (a class
 * list, a zip) are not submissions and are named in `skipped`; hidden entries (.git, .DS_Store) and the
 * batch's own output folder, when it is inside, are ignored.
 */
export function batchSubmissions(
  folder: string,
  outputDir: string,
): { submissions: BatchSubmission[]; skipped: string[] } {
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new UsageError(`batch folder not found: ${folder}`);
  const submissions: BatchSubmission[] = [];
  const skipped: string[] = [];
  for (const name of readdirSync(folder).sort()) {
    if (name.startsWith(".")) continue;
    const dir = join(folder, name);
    if (resolve(dir) === resolve(outputDir)) continue;
    if (statSync(dir).isDirectory()) submissions.push({ name, dir });
    else skipped.push(name);
  }
  if (submissions.length === 0)
    throw new UsageError(
      `${folder} holds no submission folders: grade-batch grades one subfolder per submission` +
        (skipped.length > 0 ? ` (it holds only files: ${skipped.join(", ")})` : ""),
    );
  return { submissions, skipped };
}
