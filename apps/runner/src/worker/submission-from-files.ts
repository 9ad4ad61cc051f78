import { type Submission } from "../grade/submission.ts";

/** A submission row's files ({ path: text }) as the pipeline takes them; validation happens in stage 1. */
export function submissionFromFiles(files: Record<string, string>): Submission {
  return {
    files: new Map(Object.entries(files).map(([path, content]) => [path, Buffer.from(content, "utf8")])),
    unreadable: [],
  };
}
