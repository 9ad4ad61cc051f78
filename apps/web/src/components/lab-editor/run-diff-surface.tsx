"use client";

import { useEffect, useRef } from "react";
import type { editor } from "monaco-editor";
import { editorThemeName, followColorScheme, readOnlyLanguage } from "./editor-theme.ts";
import { monaco } from "./monaco-environment.ts";

export interface RunDiffSurfaceProps {
  /** The file as it was in the Run. */
  original: string;
  /** The same file in the learner's current draft. */
  modified: string;
}

/**
 * Monaco's diff editor, both sides read-only: a past Run's file on the left, the draft's on the right.
 * Its models have no URI, so they never clash with the lab editor's models of the same paths.
 */
export default function RunDiffSurface({ original, modified }: RunDiffSurfaceProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const models = useRef<{ original: editor.ITextModel; modified: editor.ITextModel }>(undefined);
  useEffect(() => {
    if (!hostRef.current) return;
    // The theme follows the toggle or the system when they switch light/dark.
    const stopWatching = followColorScheme();
    const diff = monaco.editor.createDiffEditor(hostRef.current, {
      theme: editorThemeName,
      readOnly: true,
      originalEditable: false,
      automaticLayout: true,
      renderSideBySide: true,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      wordWrap: "on",
      fontSize: 13,
    });
    const created = {
      original: monaco.editor.createModel("", readOnlyLanguage),
      modified: monaco.editor.createModel("", readOnlyLanguage),
    };
    models.current = created;
    diff.setModel(created);
    return () => {
      stopWatching();
      diff.dispose();
      created.original.dispose();
      created.modified.dispose();
      models.current = undefined;
    };
  }, []);
  // The draft changes as the learner types: the same editor follows it.
  useEffect(() => {
    if (models.current && models.current.original.getValue() !== original)
      models.current.original.setValue(original);
  }, [original]);
  useEffect(() => {
    if (models.current && models.current.modified.getValue() !== modified)
      models.current.modified.setValue(modified);
  }, [modified]);
  return <div ref={hostRef} className="run-diff-surface" data-testid="run-diff" />;
}
