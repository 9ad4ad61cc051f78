/** One file of the learner's workspace as the editor shows it. */
export interface LabEditorFile {
  /** Workspace-relative path with / separators, e.g. "src/bank.ts" (lab.json learner.editable). */
  path: string;
  content: string;
  /** false for the lab's fixed files: shown read-only, but still there for imports and type checking. */
  editable: boolean;
}

/** Tab order: the files to work on first, then the fixed ones, each group in the order given. */
export function inTabOrder(files: readonly LabEditorFile[]): LabEditorFile[] {
  return [...files.filter((file) => file.editable), ...files.filter((file) => !file.editable)];
}

/** A place to mark in a file: a type error or a crash from the last Run. */
export interface EditorProblem {
  path: string;
  line: number;
  column: number;
  message: string;
}

/** Open `path` and put the cursor at the line; `requestId` tells two requests for the same place apart. */
export interface RevealRequest {
  path: string;
  line: number;
  column: number;
  requestId: number;
}
