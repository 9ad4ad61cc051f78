import type { LabProgress } from "../../server/labs/learner-progress.ts";
import { ProgressBadge } from "./progress-badge.tsx";

export interface LabMetaProps {
  difficulty: string;
  estimatedMinutes: number;
  services: string[];
  /** Shown only for a signed-in learner, and only once the lab is started (no chip on every card). */
  progress?: LabProgress | undefined;
}

export function LabMeta({ difficulty, estimatedMinutes, services, progress }: LabMetaProps) {
  return (
    <p className="lab-meta">
      <span className={`badge difficulty-${difficulty}`}>{difficulty}</span>
      <span>{estimatedMinutes} min</span>
      {services.map((service) => (
        <span key={service} className="badge service">
          {service}
        </span>
      ))}
      {progress && progress !== "not-started" && <ProgressBadge progress={progress} />}
    </p>
  );
}
