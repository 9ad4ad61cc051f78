import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Lab, publicLab } from "@backend-labs/lab-format";
import { z } from "zod";
import { LearnerFolderError } from "./learner-folder-error.ts";

/** The file `labs start` leaves in a learner's folder: which lab it holds, and which version of it. */
export const markerFile = "backend-lab.json";

const markerSchema = z.object({
  lab: z.string(),
  /** A hash of everything below: a lab whose README, starter or tasks changed has another version. */
  version: z.string(),
  /** What the learner is shown besides the README: the manifest's public fields. */
  about: z.object({
    title: z.string(),
    summary: z.string(),
    tasks: z.array(z.object({ id: z.number(), title: z.string(), hints: z.array(z.string()) })),
  }),
  /** sha256 of README.md and of each starter file, to say what changed in a newer version. */
  files: z.record(z.string(), z.string()),
});
export type LearnerFolderMarker = z.infer<typeof markerSchema>;

export const sha256 = (content: string | Buffer) => createHash("sha256").update(content).digest("hex");

export function markerFor(lab: Lab): LearnerFolderMarker {
  const view = publicLab(lab);
  const about = { title: view.title, summary: view.summary, tasks: view.tasks };
  const files: Record<string, string> = { "README.md": sha256(view.instructions) };
  for (const file of view.files) files[file.path] = sha256(file.content);
  return { lab: view.id, version: `sha256:${sha256(JSON.stringify({ about, files }))}`, about, files };
}

export function readMarker(dir: string): LearnerFolderMarker | undefined {
  const path = join(dir, markerFile);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new LearnerFolderError(`${path} is not JSON: restore it with \`labs start <lab-id> --force\``);
  }
  const marker = markerSchema.safeParse(parsed);
  if (!marker.success)
    throw new LearnerFolderError(
      `${path} is not a marker \`labs start\` wrote: ${marker.error.issues[0]?.message}`,
    );
  return marker.data;
}

/** What differs between the version a folder was started from and the lab as it is now (empty: the same). */
export function changesSince(marker: LearnerFolderMarker, lab: Lab): string[] {
  const now = markerFor(lab);
  if (now.version === marker.version) return [];
  const changes: string[] = [];
  const paths = new Set([...Object.keys(marker.files), ...Object.keys(now.files)]);
  for (const path of [...paths].sort()) {
    if (!(path in marker.files)) changes.push(`${path} is new`);
    else if (!(path in now.files)) changes.push(`${path} is no longer part of the lab`);
    else if (marker.files[path] !== now.files[path]) changes.push(`${path} changed`);
  }
  if (JSON.stringify(marker.about) !== JSON.stringify(now.about))
    changes.push("the title, summary, tasks or hints changed");
  return changes;
}
