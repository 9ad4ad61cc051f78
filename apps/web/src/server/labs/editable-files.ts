import type { Lab } from "@backend-labs/lab-format";
import { TRPCError } from "@trpc/server";
import { z } from "zod";

/** Limits on what a browser may send as a lab's files (the runner checks again before grading). */
export const maxFileChars = 200_000;
export const maxFiles = 20;

export const filesInput = z
  .record(
    z.string().min(1).max(200),
    z.string().max(maxFileChars, `a file may hold at most ${maxFileChars} characters`),
  )
  .refine((files) => Object.keys(files).length <= maxFiles, `at most ${maxFiles} files`);

/** The files, checked to be exactly editable files of the lab; anything else is refused by name. */
export function editableFiles(lab: Lab, files: Record<string, string>): Record<string, string> {
  const editable = lab.manifest.learner.editable;
  const foreign = Object.keys(files).filter((path) => !editable.includes(path));
  if (foreign.length > 0) {
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: `${foreign.join(", ")} ${foreign.length === 1 ? "is" : "are"} not editable in this lab (editable: ${editable.join(", ")}).`,
    });
  }
  return files;
}
