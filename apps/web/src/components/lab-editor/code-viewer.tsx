"use client";

import dynamic from "next/dynamic";

const CodeViewerSurface = dynamic(() => import("./code-viewer-surface.tsx"), {
  ssr: false,
  loading: () => <p className="muted">Loading…</p>,
});

/** A learner's file, read-only with line numbers, as tall as it is (up to a screenful). */
export function CodeViewer({ content }: { content: string }) {
  const lines = content.split("\n").length;
  return (
    <div className="code-viewer" style={{ height: `${Math.min(Math.max(lines, 5), 40) * 19 + 12}px` }}>
      <CodeViewerSurface content={content} />
    </div>
  );
}
