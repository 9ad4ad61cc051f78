"use client";

import { useQuery } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import { useState } from "react";
import { useTRPC } from "../../lib/trpc.tsx";

const RunDiffSurface = dynamic(() => import("../lab-editor/run-diff-surface.tsx"), {
  ssr: false,
  loading: () => <p className="muted">Loading…</p>,
});

export interface RunCodeProps {
  submissionId: string;
  /** The learner's files now: the Run's code is compared with them. */
  draft: Record<string, string>;
  /** Put this Run's files back in the editor. */
  onRestore: (files: Record<string, string>) => void;
}

/**
 * The code a past Run graded, read-only, beside the learner's draft (Monaco's diff view), with a way to
 * bring it back. Folded until asked for: most of the time the results are what matters.
 */
export function RunCode({ submissionId, draft, onRestore }: RunCodeProps) {
  const trpc = useTRPC();
  const [open, setOpen] = useState(false);
  const submission = useQuery({ ...trpc.submission.get.queryOptions({ id: submissionId }), enabled: open });
  const runFiles = submission.data?.files ?? {};
  const paths = Object.keys(draft).filter((path) => path in runFiles);
  const [chosen, setChosen] = useState<string>();
  const path = chosen && paths.includes(chosen) ? chosen : paths[0];
  const changed = paths.filter((candidate) => runFiles[candidate] !== draft[candidate]);
  return (
    <details className="run-code" onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>This Run&apos;s code, compared with your draft</summary>
      {submission.data && path && (
        <>
          <div className="run-code-bar">
            {paths.length > 1 && (
              <select value={path} onChange={(event) => setChosen(event.target.value)} aria-label="File">
                {paths.map((candidate) => (
                  <option key={candidate} value={candidate}>
                    {candidate}
                  </option>
                ))}
              </select>
            )}
            <span className="muted" data-testid="run-code-changes">
              {changed.length === 0
                ? "Your draft is the same as this Run's code."
                : `Your draft differs in ${changed.join(", ")}. Left: this Run; right: your draft.`}
            </span>
            <button
              type="button"
              className="button secondary"
              disabled={changed.length === 0}
              onClick={() => {
                if (
                  window.confirm("Replace your draft with this Run's code? Your current draft is replaced.")
                )
                  onRestore(Object.fromEntries(paths.map((candidate) => [candidate, runFiles[candidate]!])));
              }}
            >
              Restore this code
            </button>
          </div>
          <div className="run-diff-frame">
            <RunDiffSurface original={runFiles[path] ?? ""} modified={draft[path] ?? ""} />
          </div>
        </>
      )}
      {submission.isError && <p className="form-error">Could not load this Run&apos;s code.</p>}
    </details>
  );
}
