import { type LabManifest, workspacePath } from "@backend-labs/lab-format";
import { maxSubmissionFileBytes, maxSubmissionFiles, type Submission } from "./submission.ts";

export interface SubmissionProblem {
  path: string;
  reason: string;
}

/**
 * Stage 1: decides whether a submission may be written into a workspace at all. Every problem names the
 * file and why; nothing is written until this returns an empty list.
 */
export function validateSubmission(submission: Submission, manifest: LabManifest): SubmissionProblem[] {
  const problems: SubmissionProblem[] = [...submission.unreadable];
  if (submission.files.size > maxSubmissionFiles) {
    problems.push({
      path: ".",
      reason: `has ${submission.files.size} files; at most ${maxSubmissionFiles} are accepted`,
    });
  }
  const editable = new Set(manifest.learner.editable);
  for (const [path, content] of submission.files) {
    if (!workspacePath.safeParse(path).success) {
      problems.push({
        path,
        reason: "is not a plain relative path inside the workspace (no '..', no leading '/')",
      });
    } else if (!editable.has(path)) {
      problems.push({
        path,
        reason: `is not one of the files this lab lets you edit (${[...editable].join(", ")})`,
      });
    } else if (content.length > maxSubmissionFileBytes) {
      problems.push({
        path,
        reason: `is ${content.length} bytes; the limit is ${maxSubmissionFileBytes} (1 MB)`,
      });
    } else if (!isText(content)) {
      problems.push({ path, reason: "is not UTF-8 text (binary content)" });
    }
  }
  return problems;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function isText(content: Buffer): boolean {
  if (content.includes(0)) return false;
  try {
    utf8.decode(content);
    return true;
  } catch {
    return false;
  }
}
