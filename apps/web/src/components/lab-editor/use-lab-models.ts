import { useEffect, useRef, useState } from "react";
import type { editor } from "monaco-editor";
import type { LabEditorFile } from "./lab-editor-file.ts";
import { monaco } from "./monaco-environment.ts";

/** How many of its own reports per file the editor remembers to recognise late echoes from the parent. */
const rememberedReports = 100;

/** Where a workspace file lives for the TypeScript worker: the same layout the runner's workspace has. */
export function modelUri(path: string): monaco.Uri {
  return monaco.Uri.parse(`file:///${path}`);
}

/**
 * One Monaco model per file, alive as long as the lab's file list: a model keeps its own undo stack, and
 * fixed files must exist as models for imports of them to resolve. Edits are reported through onChange;
 * a content prop that differs from everything the editor reported is an outside change (a reset, a loaded
 * draft) and replaces the model's text as one undoable edit.
 */
export function useLabModels(
  labId: string,
  files: readonly LabEditorFile[],
  onChange: (path: string, content: string) => void,
): ReadonlyMap<string, editor.ITextModel> | undefined {
  const [models, setModels] = useState<ReadonlyMap<string, editor.ITextModel>>();
  const onChangeRef = useRef(onChange);
  const filesRef = useRef(files);
  const reported = useRef(new Map<string, Set<string>>());
  const applyingOutsideChange = useRef(false);

  useEffect(() => {
    onChangeRef.current = onChange;
    filesRef.current = files;
  });

  const fileListKey = JSON.stringify([labId, files.map((file) => file.path)]);
  useEffect(() => {
    const created = new Map<string, editor.ITextModel>();
    const listeners: monaco.IDisposable[] = [];
    for (const file of filesRef.current) {
      const uri = modelUri(file.path);
      // A model left behind under the same path (another editor of the same lab) is taken over.
      const leftover = monaco.editor.getModel(uri);
      leftover?.setValue(file.content);
      const model = leftover ?? monaco.editor.createModel(file.content, undefined, uri);
      created.set(file.path, model);
      const sent = new Set<string>();
      reported.current.set(file.path, sent);
      listeners.push(
        model.onDidChangeContent(() => {
          if (applyingOutsideChange.current) return;
          const content = model.getValue();
          sent.add(content);
          if (sent.size > rememberedReports) sent.delete(sent.values().next().value ?? "");
          onChangeRef.current(file.path, content);
        }),
      );
    }
    setModels(created);
    return () => {
      for (const listener of listeners) listener.dispose();
      for (const model of created.values()) model.dispose();
      reported.current.clear();
    };
  }, [fileListKey]);

  useEffect(() => {
    if (!models) return;
    for (const file of files) {
      const model = models.get(file.path);
      const sent = reported.current.get(file.path);
      if (!model || !sent || file.content === model.getValue()) {
        sent?.clear();
        continue;
      }
      // The parent has not caught up with the latest keystrokes yet: not a change of its own.
      if (sent.has(file.content)) continue;
      sent.clear();
      applyingOutsideChange.current = true;
      try {
        model.pushEditOperations([], [{ range: model.getFullModelRange(), text: file.content }], () => null);
      } finally {
        applyingOutsideChange.current = false;
      }
    }
  }, [files, models]);

  return models;
}
