"use client";

import { useState } from "react";

export interface TaskHintsProps {
  tasks: { id: number; title: string; hints: string[] }[];
}

/** The lab's numbered tasks; each task's hints are revealed one at a time, on request. */
export function TaskHints({ tasks }: TaskHintsProps) {
  const [revealed, setRevealed] = useState<Record<number, number>>({});
  return (
    <ol className="task-list">
      {tasks.map((task) => {
        const shown = revealed[task.id] ?? 0;
        return (
          <li key={task.id} id={`task-${task.id}`} data-testid={`task-${task.id}`}>
            <strong>
              Task {task.id}: {task.title}
            </strong>
            {task.hints.slice(0, shown).map((hint, index) => (
              <p key={index} className="hint">
                <span className="muted">Hint {index + 1}:</span> {hint}
              </p>
            ))}
            {shown < task.hints.length && (
              <button
                type="button"
                className="link-button"
                onClick={() => setRevealed({ ...revealed, [task.id]: shown + 1 })}
              >
                {shown === 0 ? "Show a hint" : "Show another hint"} ({task.hints.length - shown} left)
              </button>
            )}
          </li>
        );
      })}
    </ol>
  );
}
