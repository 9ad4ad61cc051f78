"use client";

import { scorePercent } from "@backend-labs/grade-score";
import type { GradingEvent } from "@backend-labs/grading-queue";
import { useQuery } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { useTRPC } from "../../lib/trpc.tsx";
import type { BrowserResult } from "../../server/labs/browser-result.ts";
import { type RunProblem, runProblems } from "./run-problems.ts";
import { type RunStepKey, runSteps, stepOfStage } from "./stage-labels.ts";
import { TestResultList, type TestRow, testRowsOf } from "./test-result-list.tsx";

export interface ResultsPanelProps {
  submissionId: string | null;
  tasks: { id: number; title: string }[];
  /** The learner's files: places in them that an error names become links. */
  editable: readonly string[];
  onFinished?: () => void;
  /** The finished result, once. */
  onResult?: (result: BrowserResult) => void;
  /** A type error or crash site was clicked. */
  onReveal?: (problem: RunProblem) => void;
  /** Suggested after a pass: the next lab on the roadmap the learner has not passed. */
  nextLab?: { id: string; title: string } | null;
}

/** Live progress of one run (over a tRPC subscription), then its full result. */
export function ResultsPanel({
  submissionId,
  tasks,
  editable,
  onFinished,
  onResult,
  onReveal,
  nextLab,
}: ResultsPanelProps) {
  // The parent keys this panel by submission id: a new run starts from an empty list.
  const [events, setEvents] = useState<{ id: string; event: GradingEvent }[]>([]);

  const trpc = useTRPC();
  const subscription = useSubscription(
    trpc.submission.watch.subscriptionOptions(submissionId ? { id: submissionId } : { id: "" }, {
      enabled: submissionId !== null,
      onData: ({ id, data }) =>
        setEvents((current) =>
          current.some((entry) => entry.id === id) ? current : [...current, { id, event: data }],
        ),
    }),
  );
  const finished = events.some(({ event }) => event.type === "finished");
  const cancelled = events.some(({ event }) => event.type === "cancelled");
  const submission = useQuery(
    trpc.submission.get.queryOptions(
      { id: submissionId ?? "" },
      { enabled: submissionId !== null && finished },
    ),
  );
  // Once per run: the parent refreshes progress and history when a result arrives or the Run is cancelled.
  const notifiedFor = useRef<string | null>(null);
  useEffect(() => {
    if (!(finished || cancelled) || notifiedFor.current === submissionId) return;
    notifiedFor.current = submissionId;
    onFinished?.();
  }, [finished, cancelled, submissionId, onFinished]);
  const result = submission.data?.result ?? null;
  useEffect(() => {
    if (result) onResult?.(result);
  }, [result, onResult]);

  if (!submissionId) {
    return (
      <section className="results-panel" data-testid="results-panel">
        <p className="muted">
          Press Run (or Ctrl+Enter) to grade your code. Results appear here as tests finish.
        </p>
      </section>
    );
  }

  const step = currentStep(events.map(({ event }) => event));
  // A grade that ended in an error before any test ran stopped at the step it was in; so did a cancelled one.
  const stoppedAt = cancelled
    ? step
    : result?.status === "error" && result.tests.length === 0
      ? lastStepReached(events.map(({ event }) => event))
      : undefined;
  const liveTests: TestRow[] = events.flatMap(({ event }) =>
    event.type === "test"
      ? [
          {
            name: event.name,
            status: event.status,
            message: event.message,
            taskId: event.taskId,
            durationMs: event.durationMs,
          },
        ]
      : [],
  );
  const rows = result ? testRowsOf(result) : liveTests;
  const retrying = events.filter(({ event }) => event.type === "retrying").at(-1)?.event;

  return (
    <section className="results-panel" data-testid="results-panel" aria-live="polite">
      <ol className="run-steps">
        {runSteps.map((candidate, index) => {
          const state = stepState(index, step, stoppedAt, cancelled);
          return (
            <li
              key={candidate.key}
              className={`run-step ${state}`}
              data-testid={`step-${candidate.key}`}
              data-state={state}
            >
              {candidate.label}
            </li>
          );
        })}
      </ol>
      {subscription.status === "error" && (
        <p className="form-error">Lost the live connection: {subscription.error?.message}. Reconnecting…</p>
      )}
      {retrying?.type === "retrying" && !finished && !cancelled && (
        <p className="notice">{retrying.reason}</p>
      )}
      {cancelled && (
        <p className="result-summary status-cancelled" data-testid="result-summary" data-status="cancelled">
          You cancelled this Run{liveTests.length > 0 ? " while its tests ran" : ""}: it has no result.
        </p>
      )}
      {result && (
        <p
          className={`result-summary status-${result.status}`}
          data-testid="result-summary"
          data-status={result.status}
        >
          {summaryText(result, rows)}
        </p>
      )}
      {result?.status === "pass" && nextLab && (
        <p className="next-lab" data-testid="next-lab">
          Next up: <Link href={`/labs/${nextLab.id}`}>{nextLab.title}</Link>
        </p>
      )}
      {result?.status === "error" && result.message && (
        <pre className="result-message" data-testid="result-message">
          {result.message.split("\n").map((line, index) => {
            const [problem] = runProblems(line, editable);
            const place = problem && `${problem.path}:${problem.line}:${problem.column}`;
            const at = place ? line.indexOf(place) : -1;
            return (
              <span key={index}>
                {problem && at >= 0 ? (
                  <>
                    {line.slice(0, at)}
                    <button type="button" className="code-link" onClick={() => onReveal?.(problem)}>
                      {place}
                    </button>
                    {line.slice(at + place!.length)}
                  </>
                ) : (
                  line
                )}
                {"\n"}
              </span>
            );
          })}
        </pre>
      )}
      <TestResultList rows={rows} tasks={tasks} />
    </section>
  );
}

type StepState = "done" | "current" | "todo" | "failed" | "cancelled" | "skipped";

/**
 * How step `index` shows: up to the step reached as done, that one current; in a grade that stopped early
 * (an error before the tests, or a cancel), the step it stopped at as failed or cancelled and the rest as
 * skipped ("Done" too, for a cancel: there is no result).
 */
function stepState(
  index: number,
  step: RunStepKey,
  stoppedAt: RunStepKey | undefined,
  cancelled: boolean,
): StepState {
  const stopped = runSteps.findIndex((entry) => entry.key === stoppedAt);
  if (stopped >= 0 && (runSteps[index]!.key !== "done" || cancelled)) {
    if (index < stopped) return "done";
    if (index > stopped) return "skipped";
    return cancelled ? "cancelled" : "failed";
  }
  const reached = runSteps.findIndex((entry) => entry.key === step);
  if (index < reached || step === "done") return "done";
  return index === reached ? "current" : "todo";
}

function currentStep(events: GradingEvent[]): RunStepKey {
  let step: RunStepKey = "queued";
  for (const event of events) {
    if (event.type === "finished") return "done";
    if (event.type === "cancelled") return step;
    if (event.type === "stage") step = stepOfStage(event.stage);
    if (event.type === "test") step = "tests";
    if (event.type === "retrying") step = "queued";
  }
  return step;
}

/** The last step a grade's progress reached before it finished. */
function lastStepReached(events: GradingEvent[]): RunStepKey {
  let step: RunStepKey = "queued";
  for (const event of events) if (event.type === "stage") step = stepOfStage(event.stage);
  return step;
}

function summaryText({ status, score }: BrowserResult, rows: TestRow[]): string {
  const passed = rows.filter((row) => row.status === "pass").length;
  if (status === "pass") return `All ${rows.length} tests passed.`;
  if (status === "error" && rows.length === 0) return "Your code could not be graded:";
  // An error that stopped the tests part-way scores 0 (see @backend-labs/grade-score); saying so avoids
  // a learner reading "5 of 9 passed" as five ninths of the credit.
  return `${passed} of ${rows.length} tests passed · score ${scorePercent(score)}.`;
}
