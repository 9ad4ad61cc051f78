import type { LabProgress } from "../../server/labs/learner-progress.ts";

const labels: Record<LabProgress, string> = {
  "not-started": "Not started",
  "in-progress": "In progress",
  passed: "Passed",
};

export function ProgressBadge({ progress }: { progress: LabProgress }) {
  return (
    <span className={`badge progress-${progress}`} data-progress={progress}>
      {labels[progress]}
    </span>
  );
}
