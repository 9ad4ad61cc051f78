import type { KeyboardEvent } from "react";
import type { LabEditorFile } from "./lab-editor-file.ts";
import styles from "./lab-editor.module.css";

interface EditorTabsProps {
  files: readonly LabEditorFile[];
  activePath: string | undefined;
  onSelect: (path: string) => void;
}

export function EditorTabs({ files, activePath, onSelect }: EditorTabsProps) {
  function moveWithArrows(event: KeyboardEvent<HTMLDivElement>) {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (step === 0 || files.length === 0) return;
    const index = files.findIndex((file) => file.path === activePath);
    const next = files[(index + step + files.length) % files.length];
    if (!next) return;
    event.preventDefault();
    onSelect(next.path);
    event.currentTarget.querySelector<HTMLElement>(`[data-path="${CSS.escape(next.path)}"]`)?.focus();
  }

  return (
    <div className={styles.tabs} role="tablist" aria-label="Lab files" onKeyDown={moveWithArrows}>
      {files.map((file) => {
        const active = file.path === activePath;
        return (
          <button
            key={file.path}
            type="button"
            role="tab"
            data-path={file.path}
            aria-selected={active}
            tabIndex={active ? 0 : -1}
            className={styles.tab}
            title={file.editable ? file.path : `${file.path}: part of the lab, read-only`}
            onClick={() => onSelect(file.path)}
          >
            {file.path}
            {!file.editable && <span className={styles.readOnlyBadge}>read-only</span>}
          </button>
        );
      })}
    </div>
  );
}
