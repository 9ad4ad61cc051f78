"use client";

import { useState } from "react";
import type { BrowserResult } from "../../server/labs/browser-result.ts";
import { splitTestMessage } from "./test-message.ts";

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

interface TaskGroup {
  task: { id: number; title: string } | undefined;
  failing: TestRow[];
  passing: TestRow[];
}

/** Rows by task, in the tasks' order (checks of no task last); failing tests first within each. */
function groupByTask(rows: TestRow[], tasks: { id: number; title: string }[]): TaskGroup[] {
  const keys = [...tasks.map((task) => task.id), undefined];
  return keys.flatMap((taskId) => {
    const own = rows.filter((row) =>
      taskId === undefined ? !tasks.some((t) => t.id === row.taskId) : row.taskId === taskId,
    );
    if (own.length === 0) return [];
    return [
      {
        task: tasks.find((task) => task.id === taskId),
        failing: own.filter((row) => row.status !== "pass"),
        passing: own.filter((row) => row.status === "pass"),
      },
    ];
  });
}

/** A test's own title: its task is the group's heading, so "Task 2: Transfer money > " is not repeated. */
function ownTitle(name: string): string {
  return /^Task \d+: /.test(name) && name.includes(" > ") ? name.slice(name.indexOf(" > ") + 3) : name;
}

/** `code` in a test name or message title, as code. */
function withInlineCode(text: string) {
  return text
    .split(/(`[^`]+`)/)
    .map((part, index) =>
      part.length > 2 && part.startsWith("`") && part.endsWith("`") ? (
        <code key={index}>{part.slice(1, -1)}</code>
      ) : (
        part
      ),
    );
}

function TestMessage({ message }: { message: string }) {
  const { text, diff } = splitTestMessage(message);
  return (
    <>
      <pre className="test-message">{text}</pre>
      {diff && (
        <details className="test-diff">
          <summary>The values compared (- expected, + received)</summary>
          <pre>{diff}</pre>
        </details>
      )}
    </>
  );
}

function TestLine({ row }: { row: TestRow }) {
  return (
    <li className={`test-row status-${row.status}`} data-testid="test-row" data-status={row.status}>
      <div className="test-line">
        <span className="status-icon" aria-label={row.status}>
          {statusIcons[row.status]}
        </span>
        <span className="test-name">{withInlineCode(ownTitle(row.name))}</span>
        <span className="muted">{row.durationMs} ms</span>
      </div>
      {row.status !== "pass" && (
        <div className="test-details">
          {row.message && <TestMessage message={row.message} />}
          {row.output && (
            <details>
              <summary>Your code&apos;s own output (what it printed while this test ran)</summary>
              <pre className="test-output">{row.output}</pre>
            </details>
          )}
        </div>
      )}
    </li>
  );
}

/**
 * The tests by task: each task's heading links to its text in the instructions and says how many passed;
 * failing tests come first with their messages, passing ones are folded into a count.
 */
export function TestResultList({ rows, tasks }: { rows: TestRow[]; tasks: { id: number; title: string }[] }) {
  const [failingOnly, setFailingOnly] = useState(false);
  if (rows.length === 0) return null;
  const groups = groupByTask(rows, tasks);
  const anyFailing = rows.some((row) => row.status !== "pass");
  return (
    <div className="test-results">
      {anyFailing && (
        <label className="failing-only">
          <input
            type="checkbox"
            checked={failingOnly}
            onChange={(event) => setFailingOnly(event.target.checked)}
          />{" "}
          Failing tests only
        </label>
      )}
      {groups
        .filter((group) => !failingOnly || group.failing.length > 0)
        .map((group) => {
          const total = group.failing.length + group.passing.length;
          return (
            <section
              key={group.task?.id ?? "other"}
              className="task-group"
              data-testid="task-group"
              data-failed={group.failing.length > 0}
            >
              <h3 className="task-group-title">
                {group.task ? (
                  <a className="task-link" href={`#task-${group.task.id}`}>
                    Task {group.task.id}: {withInlineCode(group.task.title)}
                  </a>
                ) : (
                  "Other checks"
                )}{" "}
                <span className="muted">
                  {group.passing.length}/{total} passed
                </span>
              </h3>
              <ul className="test-list">
                {group.failing.map((row, index) => (
                  <TestLine key={`f${index}-${row.name}`} row={row} />
                ))}
              </ul>
              {!failingOnly && group.passing.length > 0 && (
                <details className="passing-tests" open={group.failing.length === 0 && !anyFailing}>
                  <summary>
                    {group.passing.length} passing test{group.passing.length === 1 ? "" : "s"}
                  </summary>
                  <ul className="test-list">
                    {group.passing.map((row, index) => (
                      <TestLine key={`p${index}-${row.name}`} row={row} />
                    ))}
                  </ul>
                </details>
              )}
            </section>
          );
        })}
    </div>
  );
}
