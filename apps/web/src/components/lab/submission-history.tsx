"use client";

import { scorePercent } from "@backend-labs/grade-score";
import { useQuery } from "@tanstack/react-query";
import { isInFlight } from "../../lib/run-states.ts";
import { useTRPC } from "../../lib/trpc.tsx";

export interface SubmissionHistoryProps {
  labId: string;
  selectedId: string | null;
  onSelect: (id: string) => void;
}

/** The learner's earlier runs of this lab, newest first; picking one shows its results. */
export function SubmissionHistory({ labId, selectedId, onSelect }: SubmissionHistoryProps) {
  const trpc = useTRPC();
  const history = useQuery({
    ...trpc.submission.list.queryOptions({ labId }),
    // While a run is in flight, its row changes state: poll gently until everything finished.
    refetchInterval: (query) => (query.state.data?.some((row) => isInFlight(row.state)) ? 2_000 : false),
  });
  if (!history.data || history.data.length === 0) return null;
  return (
    <section className="history" data-testid="submission-history">
      <h2>Your runs</h2>
      <ul>
        {history.data.map((row) => (
          <li key={row.id}>
            <button
              type="button"
              className={`history-row ${row.id === selectedId ? "selected" : ""}`}
              onClick={() => onSelect(row.id)}
            >
              <span className={`badge status-${row.resultStatus ?? row.state}`}>
                {row.resultStatus ?? row.state}
              </span>
              {row.counts && (
                <span>
                  {row.counts.passed}/{row.counts.total} tests · {scorePercent(row.counts.score)}
                </span>
              )}
              <time className="muted" dateTime={new Date(row.createdAt).toISOString()}>
                {new Date(row.createdAt).toLocaleString()}
              </time>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
