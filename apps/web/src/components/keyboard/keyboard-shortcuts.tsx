"use client";

import { useEffect, useRef } from "react";

const shortcuts: [keys: string, action: string][] = [
  ["Ctrl / ⌘ + Enter", "Run the lab's tests (in the editor)"],
  ["Ctrl / ⌘ + Space", "Suggest completions (in the editor)"],
  ["Ctrl / ⌘ + F", "Find in the file (in the editor)"],
  ["F1", "All editor commands (in the editor)"],
  ["?", "Show these shortcuts"],
  ["Esc", "Close this list"],
];

/** `?` anywhere outside a text field opens the list of keyboard shortcuts. */
function wantsHelp(event: KeyboardEvent): boolean {
  if (event.key !== "?" || event.ctrlKey || event.metaKey || event.altKey) return false;
  const target = event.target instanceof Element ? event.target : null;
  return !target?.closest("input, textarea, select, [contenteditable], .monaco-editor");
}

export function KeyboardShortcuts() {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const open = (event: KeyboardEvent) => {
      if (!wantsHelp(event) || dialog.current?.open) return;
      event.preventDefault();
      dialog.current?.showModal();
    };
    window.addEventListener("keydown", open);
    return () => window.removeEventListener("keydown", open);
  }, []);
  return (
    <dialog ref={dialog} className="shortcut-help" aria-labelledby="shortcut-help-title">
      <h2 id="shortcut-help-title">Keyboard shortcuts</h2>
      <table className="data-table">
        <tbody>
          {shortcuts.map(([keys, action]) => (
            <tr key={keys}>
              <td>
                <kbd>{keys}</kbd>
              </td>
              <td>{action}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="dialog">
        <button type="submit" className="button secondary">
          Close
        </button>
      </form>
    </dialog>
  );
}
