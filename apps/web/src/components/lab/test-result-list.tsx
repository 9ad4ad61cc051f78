import type { BrowserResult } from "../../server/labs/browser-result.ts";

export interface TestRow {
  name: string;
  status: "pass" | "fail" | "error";
  message?: string | undefined;
  output?: string | undefined;
  taskId?: number | undefined;
  durationMs: number;
}

/** The rows of a finished result. */
export function testRowsOf(result: BrowserResult): TestRow[] {
  return result.tests.map((test) => ({
    name: test.name,
    status: test.status,
    message: test.message,
    output: test.output,
    taskId: test.task_id,
    durationMs: test.duration_ms,
  }));
}

const statusIcons = { pass: "✓", fail: "✗", error: "!" } as const;

/** One line per test; a failing test shows its message, the task it checks and the learner's output. */
export function TestResultList({ rows, tasks }: { rows: TestRow[]; tasks: { id: number; title: string }[] }) {
  if (rows.length === 0) return null;
  return (
    <ul className="test-results">
      {rows.map((row, index) => {
        const task = tasks.find((candidate) => candidate.id === row.taskId);
        return (
          <li
            key={`${index}-${row.name}`}
            className={`test-row status-${row.status}`}
            data-testid="test-row"
            data-status={row.status}
          >
            <div className="test-line">
              <span className="status-icon" aria-label={row.status}>
                {statusIcons[row.status]}
              </span>
              <span className="test-name">{row.name}</span>
              <span className="muted">{row.durationMs} ms</span>
            </div>
            {row.status !== "pass" && (
              <div className="test-details">
                {task && (
                  <a className="task-link" href={`#task-${task.id}`}>
                    Task {task.id}: {task.title}
                  </a>
                )}
                {row.message && <pre className="test-message">{row.message}</pre>}
                {row.output && (
                  <details>
                    <summary>Your code&apos;s output</summary>
                    <pre className="test-output">{row.output}</pre>
                  </details>
                )}
              </div>
            )}
          </li>
        );
      })}
    </ul>
  );
}
