import { type Catalog, roadmapSections } from "@backend-labs/lab-format";
import type { LabProgress } from "./learner-progress.ts";

export interface RoadmapLab {
  id: string;
  title: string;
  summary: string;
  difficulty: string;
  estimatedMinutes: number;
  services: string[];
  progress: LabProgress;
}

export interface RoadmapSectionView {
  number: number;
  name: string;
  labs: RoadmapLab[];
  passed: number;
  progress: LabProgress;
}

/** The roadmap home: all 12 sections in order, each with its labs and the learner's progress. */
export function roadmapView(
  catalog: Catalog,
  progress: ReadonlyMap<string, LabProgress>,
): RoadmapSectionView[] {
  return roadmapSections.map((section) => {
    const labs = catalog.labs
      .filter((lab) => lab.section.number === section.number)
      .map(({ manifest }): RoadmapLab => ({
        id: manifest.id,
        title: manifest.title,
        summary: manifest.summary,
        difficulty: manifest.difficulty,
        estimatedMinutes: manifest.estimatedMinutes,
        services: Object.keys(manifest.services),
        progress: progress.get(manifest.id) ?? "not-started",
      }));
    const passed = labs.filter((lab) => lab.progress === "passed").length;
    const sectionProgress: LabProgress =
      labs.length > 0 && passed === labs.length
        ? "passed"
        : labs.some((lab) => lab.progress !== "not-started")
          ? "in-progress"
          : "not-started";
    return { number: section.number, name: section.name, labs, passed, progress: sectionProgress };
  });
}

/** The first lab after `labId` in roadmap order (wrapping around) that the learner has not passed. */
export function nextLabAfter(
  sections: RoadmapSectionView[],
  labId: string,
): { id: string; title: string } | null {
  const labs = sections.flatMap((section) => section.labs);
  const at = labs.findIndex((lab) => lab.id === labId);
  const candidate = [...labs.slice(at + 1), ...labs.slice(0, Math.max(at, 0))].find(
    (lab) => lab.progress !== "passed",
  );
  return candidate ? { id: candidate.id, title: candidate.title } : null;
}
