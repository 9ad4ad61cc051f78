import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Lab, labFiles, listFiles } from "./load-lab.ts";

export interface LabFile {
  path: string;
  content: string;
  editable: boolean;
}

/** What a browser may see of a lab: the manifest's public fields, the instructions and the starter. */
export interface PublicLab {
  id: string;
  title: string;
  summary: string;
  section: { number: number; name: string };
  topics: string[];
  difficulty: string;
  estimatedMinutes: number;
  services: string[];
  tasks: { id: number; title: string; hints: string[] }[];
  instructions: string;
  files: LabFile[];
}

/**
 * Builds the public view of a lab, for the web app and for `labs start`. It reads only lab.json's public
 * fields, README.md and starter/: the solution, mutants, hidden variants and grader suite never reach a
 * learner (a test checks every lab).
 */
export function publicLab(lab: Lab): PublicLab {
  const { manifest } = lab;
  return {
    id: manifest.id,
    title: manifest.title,
    summary: manifest.summary,
    section: { number: lab.section.number, name: lab.section.name },
    topics: manifest.roadmap.topics,
    difficulty: manifest.difficulty,
    estimatedMinutes: manifest.estimatedMinutes,
    services: Object.keys(manifest.services),
    tasks: manifest.tasks.map(({ id, title, hints }) => ({ id, title, hints })),
    instructions: readFileSync(join(lab.dir, labFiles.instructions), "utf8"),
    files: starterFiles(lab),
  };
}

/** The starter tree: editable files first (in the manifest's order), then the fixed ones. */
export function starterFiles(lab: Lab): LabFile[] {
  const starterDir = join(lab.dir, labFiles.starter);
  const editable = lab.manifest.learner.editable;
  const fixed = listFiles(starterDir).filter((path) => !editable.includes(path));
  return [...editable, ...fixed].map((path) => ({
    path,
    content: readFileSync(join(starterDir, path), "utf8"),
    editable: editable.includes(path),
  }));
}
