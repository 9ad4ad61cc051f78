export interface ProgressMeterProps {
  passed: number;
  total: number;
  /** Said in words beside the bar, and its accessible name. */
  label: string;
  testId: string;
}

/** Labs passed out of a total, as a bar and in words. */
export function ProgressMeter({ passed, total, label, testId }: ProgressMeterProps) {
  return (
    <span className="progress-meter" data-testid={testId}>
      <progress value={passed} max={Math.max(total, 1)} aria-label={label} />
      <span className="muted">{label}</span>
    </span>
  );
}
