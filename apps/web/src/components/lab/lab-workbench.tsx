"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import { useTRPC } from "../../lib/trpc.tsx";
import type { LabFile } from "@backend-labs/lab-format";
import { LabEditor } from "../lab-editor/lab-editor.tsx";
import { ResultsPanel } from "./results-panel.tsx";
import { SubmissionHistory } from "./submission-history.tsx";

export interface LabWorkbenchProps {
  labId: string;
  starterFiles: LabFile[];
  draftFiles: Record<string, string> | null;
  tasks: { id: number; title: string }[];
  signedIn: boolean;
}

type SaveState = "saved" | "unsaved" | "saving" | "failed";
const autosaveDelayMs = 800;

function editableContents(starter: LabFile[], draft: Record<string, string> | null): Record<string, string> {
  return Object.fromEntries(
    starter.filter((file) => file.editable).map((file) => [file.path, draft?.[file.path] ?? file.content]),
  );
}

/** The right half of the lab page: editor, Run, live results and the history of runs. */
export function LabWorkbench({ labId, starterFiles, draftFiles, tasks, signedIn }: LabWorkbenchProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const [files, setFiles] = useState(() => editableContents(starterFiles, draftFiles));
  const [editorGeneration, setEditorGeneration] = useState(0);
  const [saveState, setSaveState] = useState<SaveState>("saved");
  const [submissionId, setSubmissionId] = useState<string | null>(null);
  const latestFiles = useRef(files);
  latestFiles.current = files;

  const saveDraft = useMutation(
    trpc.draft.save.mutationOptions({
      onMutate: () => setSaveState("saving"),
      onSuccess: () => setSaveState((state) => (state === "saving" ? "saved" : state)),
      onError: () => setSaveState("failed"),
    }),
  );
  const resetDraft = useMutation(trpc.draft.reset.mutationOptions());
  const run = useMutation(
    trpc.submission.run.mutationOptions({
      onSuccess: ({ id }) => {
        setSubmissionId(id);
        void queryClient.invalidateQueries({ queryKey: trpc.submission.list.queryKey({ labId }) });
      },
    }),
  );

  // Drafts save themselves shortly after the learner stops typing (mutate is stable across renders,
  // so only a new edit restarts the countdown).
  const { mutate: saveDraftNow } = saveDraft;
  useEffect(() => {
    if (!signedIn || saveState !== "unsaved") return;
    const timer = setTimeout(() => saveDraftNow({ labId, files: latestFiles.current }), autosaveDelayMs);
    return () => clearTimeout(timer);
  }, [files, signedIn, saveState, labId, saveDraftNow]);

  const onChange = useCallback((path: string, content: string) => {
    setFiles((current) => ({ ...current, [path]: content }));
    setSaveState("unsaved");
  }, []);

  const onRun = useCallback(() => {
    if (!signedIn || run.isPending) return;
    run.mutate({ labId, files: latestFiles.current });
  }, [signedIn, run, labId]);

  const onRunFinished = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: trpc.submission.list.queryKey({ labId }) });
    router.refresh();
  }, [queryClient, trpc, labId, router]);

  const onReset = () => {
    if (!window.confirm("Replace your code with the starter files? Your saved draft is deleted.")) return;
    setFiles(editableContents(starterFiles, null));
    setEditorGeneration((generation) => generation + 1);
    setSaveState("saved");
    if (signedIn) resetDraft.mutate({ labId });
  };

  const editorFiles = starterFiles.map((file) => ({
    ...file,
    content: file.editable ? (files[file.path] ?? file.content) : file.content,
  }));

  return (
    <section className="workbench">
      <div className="toolbar">
        <button
          type="button"
          className="button run-button"
          onClick={onRun}
          disabled={!signedIn || run.isPending}
          title="Run the grader (Ctrl+Enter)"
        >
          {run.isPending ? "Submitting…" : "Run"}
        </button>
        <button type="button" className="button secondary" onClick={onReset}>
          Reset to starter
        </button>
        <span className="muted save-state" data-testid="save-state">
          {signedIn ? saveLabels[saveState] : "Sign in to save your work"}
        </span>
      </div>
      {!signedIn && (
        <p className="notice">
          You can read and edit the code as a visitor.{" "}
          <Link href={`/sign-up?next=/labs/${labId}`}>Create an account</Link> to run it against real services
          and keep your progress.
        </p>
      )}
      {run.error && (
        <p className="form-error" role="alert" data-testid="run-error">
          {run.error.message}
        </p>
      )}
      <div className="editor-frame">
        <LabEditor
          key={editorGeneration}
          labId={labId}
          files={editorFiles}
          onChange={onChange}
          onRun={onRun}
          className="editor-fill"
        />
      </div>
      <ResultsPanel
        key={submissionId ?? "none"}
        submissionId={submissionId}
        tasks={tasks}
        onFinished={onRunFinished}
      />
      {signedIn && <SubmissionHistory labId={labId} selectedId={submissionId} onSelect={setSubmissionId} />}
    </section>
  );
}

const saveLabels: Record<SaveState, string> = {
  saved: "All changes saved",
  unsaved: "Unsaved changes…",
  saving: "Saving…",
  failed: "Could not save your draft; it will retry when you type",
};
