"use client";

import { useEffect, useRef, useState } from "react";
import type { editor } from "monaco-editor";
import { editorThemeName, followColorScheme } from "./editor-theme.ts";
import type { EditorProblem, LabEditorFile, RevealRequest } from "./lab-editor-file.ts";
import { monaco } from "./monaco-environment.ts";
import styles from "./lab-editor.module.css";
import { useLabModels } from "./use-lab-models.ts";
import { useTypeLibraries } from "./use-type-libraries.ts";

export interface MonacoSurfaceProps {
  labId: string;
  files: readonly LabEditorFile[];
  activePath: string | undefined;
  onChange: (path: string, content: string) => void;
  onRun?: (() => void) | undefined;
  problems?: readonly EditorProblem[] | undefined;
  reveal?: RevealRequest | undefined;
}

const readOnlyMessage = { value: "This file is part of the lab and cannot be changed." };

/** The Monaco part of LabEditor, loaded on demand: it pulls in the whole editor. */
export default function MonacoSurface({
  labId,
  files,
  activePath,
  onChange,
  onRun,
  problems,
  reveal,
}: MonacoSurfaceProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const [codeEditor, setCodeEditor] = useState<editor.IStandaloneCodeEditor>();
  const onRunRef = useRef(onRun);
  useEffect(() => {
    onRunRef.current = onRun;
  });

  useEffect(() => {
    if (!hostRef.current) return;
    // The theme follows the toggle or the system when they switch light/dark.
    const stopWatching = followColorScheme();
    const created = monaco.editor.create(hostRef.current, {
      model: null,
      theme: editorThemeName,
      automaticLayout: true,
      fontFamily:
        'ui-monospace, SFMono-Regular, "Cascadia Code", Menlo, Consolas, "Liberation Mono", monospace',
      fontSize: 14,
      tabSize: 2,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      // The starter's TODO comments are long: wrapped, they are read whole.
      wordWrap: "on",
      readOnlyMessage,
    });
    created.addAction({
      id: "backend-labs.run",
      label: "Run the lab's tests",
      keybindings: [monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter],
      run: () => onRunRef.current?.(),
    });
    setCodeEditor(created);
    return () => {
      stopWatching();
      created.dispose();
    };
  }, []);

  const models = useLabModels(labId, files, onChange);
  const activeFile = files.find((file) => file.path === activePath);
  const activeModel = activeFile && models?.get(activeFile.path);
  const readOnly = !activeFile?.editable;
  const viewStates = useRef(new Map<string, editor.ICodeEditorViewState | null>());

  useEffect(() => {
    if (!codeEditor || !activeModel) return;
    const shown = codeEditor.getModel();
    if (shown === activeModel) return;
    if (shown) viewStates.current.set(shown.uri.toString(), codeEditor.saveViewState());
    codeEditor.setModel(activeModel);
    const saved = viewStates.current.get(activeModel.uri.toString());
    if (saved) codeEditor.restoreViewState(saved);
    // Focus follows a tab switch, not the first render: the page may want the focus elsewhere.
    if (shown) codeEditor.focus();
  }, [codeEditor, activeModel]);

  useEffect(() => {
    codeEditor?.updateOptions({ readOnly });
  }, [codeEditor, readOnly]);

  // The last Run's type errors and crash site, as squiggles on their lines (gone with the next Run).
  useEffect(() => {
    if (!models) return;
    for (const [path, model] of models) {
      const markers = (problems ?? [])
        .filter((problem) => problem.path === path)
        .map((problem) => ({
          severity: monaco.MarkerSeverity.Error,
          message: problem.message,
          startLineNumber: problem.line,
          startColumn: problem.column,
          endLineNumber: problem.line,
          endColumn: model.getLineMaxColumn(Math.min(problem.line, model.getLineCount())),
        }));
      monaco.editor.setModelMarkers(model, "run", markers);
    }
  }, [models, problems]);

  useEffect(() => {
    if (!codeEditor || !reveal || !activeModel || activeFile?.path !== reveal.path) return;
    codeEditor.revealLineInCenter(reveal.line);
    codeEditor.setPosition({ lineNumber: reveal.line, column: reveal.column });
    codeEditor.focus();
  }, [codeEditor, reveal, activeModel, activeFile]);

  const typesStatus = useTypeLibraries(labId);

  return (
    <div className={styles.surface}>
      <div ref={hostRef} className={styles.editorHost} data-testid="lab-editor-monaco" />
      {typesStatus !== "ready" && (
        <div className={styles.typesStatus} role="status">
          {typesStatus === "loading" ? "Loading type definitions…" : "Type definitions unavailable"}
        </div>
      )}
    </div>
  );
}
