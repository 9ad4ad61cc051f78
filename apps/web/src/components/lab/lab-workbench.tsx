"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { v4 as newRunId } from "uuid";
import { useTRPC } from "../../lib/trpc.tsx";
import { retryUnanswered } from "../../lib/unanswered-call.ts";
import type { LabFile } from "@backend-labs/lab-format";
import { type EditorProblem, LabEditor, type RevealRequest } from "../lab-editor/lab-editor.tsx";
import type { BrowserResult } from "../../server/labs/browser-result.ts";
import { type RunProblem, runProblems } from "./run-problems.ts";
import { ResultsPanel } from "./results-panel.tsx";
import { useShowPane } from "./lab-layout.tsx";
import { RunCode } from "./run-code.tsx";
import { SubmissionHistory } from "./submission-history.tsx";
import { useRefusalWait } from "./use-refusal-wait.ts";
import { forgetUnsavedEdits, keepUnsavedEdits, unsavedEdits } from "./unsaved-edits.ts";

export interface LabWorkbenchProps {
  labId: string;
  starterFiles: LabFile[];
  draftFiles: Record<string, string> | null;
  tasks: { id: number; title: string }[];
  signedIn: boolean;
  nextLab: { id: string; title: string } | null;
}

type SaveState = "saved" | "unsaved" | "saving" | "failed";
const autosaveDelayMs = 800;
const retrySaveDelayMs = 3_000;

function editableContents(starter: LabFile[], draft: Record<string, string> | null): Record<string, string> {
  return Object.fromEntries(
    starter.filter((file) => file.editable).map((file) => [file.path, draft?.[file.path] ?? file.content]),
  );
}

/** The right half of the lab page: editor, Run, live results and the history of runs. */
export function LabWorkbench({
  labId,
  starterFiles,
  draftFiles,
  tasks,
  signedIn,
  nextLab,
}: LabWorkbenchProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const showPane = useShowPane();
  const [files, setFiles] = useState(() => editableContents(starterFiles, draftFiles));
  const [saveState, setSaveState] = useState<SaveState>("saved");
  const [submissionId, setSubmissionId] = useState<string | null>(null);
  // A Run of this page that has not finished yet: Run waits for it, so a double click queues nothing twice.
  const [runInFlight, setRunInFlight] = useState(false);
  // The shown Run's type errors or crash site, marked in the editor; a click on one opens it.
  const [problems, setProblems] = useState<EditorProblem[]>([]);
  const [reveal, setReveal] = useState<RevealRequest>();
  const latestFiles = useRef(files);
  latestFiles.current = files;

  // Edits the last visit could not save (it left right after a keystroke) win over the server's draft.
  useEffect(() => {
    if (!signedIn) return;
    const kept = unsavedEdits(labId);
    if (!kept) return;
    const restored = { ...editableContents(starterFiles, draftFiles), ...kept };
    if (JSON.stringify(restored) === JSON.stringify(editableContents(starterFiles, draftFiles))) {
      forgetUnsavedEdits(labId, kept);
      return;
    }
    setFiles(restored);
    setSaveState("unsaved");
  }, [signedIn, labId, starterFiles, draftFiles]);

  const saveDraft = useMutation(
    trpc.draft.save.mutationOptions({
      onMutate: () => setSaveState("saving"),
      onSuccess: (_data, { files: saved }) => {
        forgetUnsavedEdits(labId, saved);
        setSaveState((state) => (state === "saving" ? "saved" : state));
      },
      onError: () => setSaveState("failed"),
    }),
  );
  const { mutate: saveDraftNow } = saveDraft;
  const resetDraft = useMutation(trpc.draft.reset.mutationOptions());
  // The Run's own events say when it stopped (the results panel's onFinished), so nothing to do on success.
  // Cancelling twice is harmless, and each Run carries its own id: both are safe to send again when a
  // dropped connection (Wi-Fi, or Docker's networks changing under a local browser) lost the answer.
  const cancelRun = useMutation(trpc.submission.cancel.mutationOptions({ retry: retryUnanswered }));
  const run = useMutation(
    trpc.submission.run.mutationOptions({
      retry: retryUnanswered,
      onMutate: () => {
        setRunInFlight(true);
        setProblems([]);
      },
      onSuccess: ({ id }) => {
        setSubmissionId(id);
        void queryClient.invalidateQueries({ queryKey: trpc.submission.list.queryKey({ labId }) });
      },
      onError: () => setRunInFlight(false),
    }),
  );

  // A refusal for the per-minute limit clears itself when its wait is over; Run counts down meanwhile.
  const runWait = useRefusalWait(run.error, run.reset);

  // After a reload the results panel shows the last Run, as the history has it.
  const history = useQuery({ ...trpc.submission.list.queryOptions({ labId }), enabled: signedIn });
  const latestRunId = history.data?.[0]?.id ?? null;
  const shownOnce = useRef(false);
  useEffect(() => {
    if (shownOnce.current || !latestRunId) return;
    shownOnce.current = true;
    setSubmissionId((current) => current ?? latestRunId);
  }, [latestRunId]);

  // Leaving while an edit is unsaved: it is in localStorage already; save it now and ask before unloading.
  useEffect(() => {
    if (!signedIn || saveState === "saved") return;
    const saveNow = () => {
      if (document.visibilityState === "hidden") saveDraftNow({ labId, files: latestFiles.current });
    };
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    document.addEventListener("visibilitychange", saveNow);
    window.addEventListener("beforeunload", warn);
    return () => {
      document.removeEventListener("visibilitychange", saveNow);
      window.removeEventListener("beforeunload", warn);
    };
  }, [signedIn, saveState, labId, saveDraftNow]);

  // Drafts save themselves shortly after the learner stops typing (mutate is stable across renders,
  // so only a new edit restarts the countdown).
  // A save that failed (the network dropped, the server restarted) is tried again on its own.
  useEffect(() => {
    if (!signedIn || (saveState !== "unsaved" && saveState !== "failed")) return;
    const delay = saveState === "failed" ? retrySaveDelayMs : autosaveDelayMs;
    const timer = setTimeout(() => saveDraftNow({ labId, files: latestFiles.current }), delay);
    return () => clearTimeout(timer);
  }, [files, signedIn, saveState, labId, saveDraftNow]);

  const onChange = useCallback(
    (path: string, content: string) => {
      setFiles((current) => {
        const next = { ...current, [path]: content };
        if (signedIn) keepUnsavedEdits(labId, next);
        return next;
      });
      setSaveState("unsaved");
    },
    [signedIn, labId],
  );

  const onRun = useCallback(() => {
    if (!signedIn || runInFlight || runWait > 0) return;
    run.mutate({ id: newRunId(), labId, files: latestFiles.current });
    showPane("results"); // on a phone, the results tab
  }, [signedIn, run, runInFlight, runWait, labId, showPane]);

  const onRunFinished = useCallback(() => {
    setRunInFlight(false);
    void queryClient.invalidateQueries({ queryKey: trpc.submission.list.queryKey({ labId }) });
    router.refresh();
  }, [queryClient, trpc, labId, router]);

  const onReset = () => {
    if (!window.confirm("Replace your code with the starter files? Your saved draft is deleted.")) return;
    setFiles(editableContents(starterFiles, null));
    setSaveState("saved");
    if (signedIn) resetDraft.mutate({ labId });
  };

  // Outside changes reach the open editor as one undoable edit (use-lab-models), so Ctrl+Z takes them back;
  // remounting the editor instead would lose that and, with the diff view open, crashed Monaco.
  const onRestore = (restored: Record<string, string>) => {
    const next = { ...latestFiles.current, ...restored };
    setFiles(next);
    keepUnsavedEdits(labId, next);
    setSaveState("unsaved");
  };

  const editable = useMemo(
    () => starterFiles.filter((file) => file.editable).map((file) => file.path),
    [starterFiles],
  );
  const onResult = useCallback(
    (result: BrowserResult) =>
      setProblems(result.status === "error" ? runProblems(result.message, editable) : []),
    [editable],
  );
  const onReveal = useCallback(
    (problem: RunProblem) => setReveal((last) => ({ ...problem, requestId: (last?.requestId ?? 0) + 1 })),
    [],
  );

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
          disabled={!signedIn || runInFlight || runWait > 0}
          title="Run the grader (Ctrl+Enter)"
        >
          {run.isPending
            ? "Submitting…"
            : runInFlight
              ? "Running…"
              : runWait > 0
                ? `Run in ${runWait} s`
                : "Run"}
        </button>
        {runInFlight && (
          <button
            type="button"
            className="button secondary"
            onClick={() => submissionId && cancelRun.mutate({ id: submissionId })}
            disabled={run.isPending || cancelRun.isPending}
            title="Stop this Run: it leaves the queue, or its grade is stopped"
          >
            {cancelRun.isPending ? "Cancelling…" : "Cancel"}
          </button>
        )}
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
      {run.error && !runInFlight && (
        <p className="form-error" role="alert" data-testid="run-error">
          {run.error.message}{" "}
          <button type="button" className="link-button" onClick={() => run.reset()}>
            Dismiss
          </button>
        </p>
      )}
      <div className="editor-frame">
        <LabEditor
          labId={labId}
          files={editorFiles}
          onChange={onChange}
          onRun={onRun}
          className="editor-fill"
          problems={problems}
          reveal={reveal}
        />
      </div>
      <div className="results-area">
        <ResultsPanel
          key={submissionId ?? "none"}
          submissionId={submissionId}
          tasks={tasks}
          editable={editable}
          onFinished={onRunFinished}
          onResult={onResult}
          onReveal={onReveal}
          nextLab={nextLab}
        />
        {signedIn && submissionId && !runInFlight && (
          <RunCode key={submissionId} submissionId={submissionId} draft={files} onRestore={onRestore} />
        )}
        {signedIn && (
          <SubmissionHistory
            labId={labId}
            selectedId={submissionId}
            onSelect={(id) => {
              run.reset();
              setSubmissionId(id);
            }}
          />
        )}
      </div>
    </section>
  );
}

const saveLabels: Record<SaveState, string> = {
  saved: "All changes saved",
  unsaved: "Unsaved changes…",
  saving: "Saving…",
  failed: "Could not save your draft; trying again…",
};
