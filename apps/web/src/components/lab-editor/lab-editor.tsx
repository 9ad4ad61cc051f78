"use client";

import dynamic from "next/dynamic";
import { useEffect, useMemo, useState } from "react";
import { EditorTabs } from "./editor-tabs.tsx";
import { type EditorProblem, inTabOrder, type LabEditorFile, type RevealRequest } from "./lab-editor-file.ts";
import styles from "./lab-editor.module.css";

export type { EditorProblem, LabEditorFile, RevealRequest } from "./lab-editor-file.ts";

export interface LabEditorProps {
  /** Lab id from lab.json; the editor fetches the lab's type libraries from /api/labs/<labId>/types. */
  labId: string;
  /** Every workspace file: the learner's (editable) ones and the lab's fixed ones. */
  files: readonly LabEditorFile[];
  /** Called with the whole new content on every edit of an editable file. */
  onChange: (path: string, content: string) => void;
  /** The open tab; leave undefined to let the editor keep track (it starts on the first editable file). */
  activePath?: string | undefined;
  onActivePathChange?: ((path: string) => void) | undefined;
  /** Ctrl+Enter / Cmd+Enter inside the editor. */
  onRun?: (() => void) | undefined;
  /** Sizes the editor: it fills this box (give it a height). */
  className?: string | undefined;
  /** Shown as error markers (squiggles) on their lines. */
  problems?: readonly EditorProblem[] | undefined;
  reveal?: RevealRequest | undefined;
}

// Monaco is several MB of JavaScript: the page renders without it and the editor appears when it has loaded.
const MonacoSurface = dynamic(() => import("./monaco-surface.tsx"), {
  ssr: false,
  loading: () => (
    <div className={styles.loading} role="status">
      Loading editor…
    </div>
  ),
});

/**
 * A tab per lab file over one Monaco editor that type-checks like the runner: models keep their undo
 * history and cursor across tab switches; fixed files are read-only.
 */
export function LabEditor({
  labId,
  files,
  onChange,
  activePath,
  onActivePathChange,
  onRun,
  className,
  problems,
  reveal,
}: LabEditorProps) {
  const tabs = useMemo(() => inTabOrder(files), [files]);
  const [chosenPath, setChosenPath] = useState<string>();
  useEffect(() => {
    if (reveal) setChosenPath(reveal.path);
  }, [reveal]);
  const requested = activePath ?? chosenPath;
  const shownPath = tabs.some((file) => file.path === requested) ? requested : tabs[0]?.path;

  function select(path: string) {
    setChosenPath(path);
    onActivePathChange?.(path);
  }

  return (
    <div className={className ? `${styles.root} ${className}` : styles.root}>
      <EditorTabs files={tabs} activePath={shownPath} onSelect={select} />
      <MonacoSurface
        labId={labId}
        files={files}
        activePath={shownPath}
        onChange={onChange}
        onRun={onRun}
        problems={problems}
        reveal={reveal}
      />
    </div>
  );
}
