import { type Catalog } from "@backend-labs/lab-format";
import { relative } from "node:path";

export interface LabListing {
  id: string;
  title: string;
  section: { number: number; name: string };
  difficulty: string;
  estimatedMinutes: number;
  services: string[];
  folder: string;
}

export function listLabs(catalog: Catalog, repoRoot: string): LabListing[] {
  return catalog.labs.map(({ manifest, section, dir }) => ({
    id: manifest.id,
    title: manifest.title,
    section: { number: section.number, name: section.name },
    difficulty: manifest.difficulty,
    estimatedMinutes: manifest.estimatedMinutes,
    services: Object.keys(manifest.services),
    folder: relative(repoRoot, dir),
  }));
}

export function formatListing(labs: LabListing[]): string {
  const rows = labs.map((lab) => [
    `${String(lab.section.number).padStart(2)}. ${lab.section.name}`,
    lab.id,
    lab.title,
    lab.services.join(",") || "-",
  ]);
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length), 0));
  return (
    rows
      .map((row) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell)).join("  "))
      .join("\n") + "\n"
  );
}
