"use client";

import { type ReactNode, useState } from "react";

export interface TaskHintsProps {
  taskId: number;
  /** The task's hints, already rendered (markdown is rendered on the server). */
  hints: ReactNode[];
}

/** A task's hints, revealed one at a time on request, so a learner who wants a nudge gets only a nudge. */
export function TaskHints({ taskId, hints }: TaskHintsProps) {
  const [shown, setShown] = useState(0);
  return (
    <div className="task-hints" data-testid={`task-${taskId}-hints`}>
      {hints.slice(0, shown).map((hint, index) => (
        <p key={index} className="hint">
          <span className="muted">Hint {index + 1}:</span> {hint}
        </p>
      ))}
      {shown < hints.length && (
        <button type="button" className="link-button" onClick={() => setShown(shown + 1)}>
          {shown === 0 ? "Show a hint" : "Show another hint"} ({hints.length - shown} left)
        </button>
      )}
    </div>
  );
}
