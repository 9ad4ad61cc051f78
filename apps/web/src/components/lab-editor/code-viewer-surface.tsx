"use client";

import { useEffect, useRef } from "react";
import { editorThemeName, followColorScheme, readOnlyLanguage } from "./editor-theme.ts";
import { monaco } from "./monaco-environment.ts";

/** One file in a read-only Monaco editor: line numbers and highlighting, no model URI (no clashes). */
export default function CodeViewerSurface({ content }: { content: string }) {
  const hostRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!hostRef.current) return;
    const stopWatching = followColorScheme();
    const model = monaco.editor.createModel(content, readOnlyLanguage);
    const viewer = monaco.editor.create(hostRef.current, {
      model,
      theme: editorThemeName,
      readOnly: true,
      automaticLayout: true,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      wordWrap: "on",
      fontSize: 13,
    });
    return () => {
      stopWatching();
      viewer.dispose();
      model.dispose();
    };
  }, [content]);
  return <div ref={hostRef} className="code-viewer-surface" />;
}
