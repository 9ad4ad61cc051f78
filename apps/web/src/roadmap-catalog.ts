import { type Catalog, roadmapSections } from "@backend-labs/lab-format";

export interface RoadmapEntry {
  number: number;
  name: string;
  labs: { id: string; title: string; difficulty: string; estimatedMinutes: number; services: string[] }[];
}

/** The roadmap home's data: all 12 sections in order, each with its labs (possibly none yet). */
export function roadmapCatalog(catalog: Catalog): RoadmapEntry[] {
  return roadmapSections.map((section) => ({
    number: section.number,
    name: section.name,
    labs: catalog.labs
      .filter((lab) => lab.section.number === section.number)
      .map(({ manifest }) => ({
        id: manifest.id,
        title: manifest.title,
        difficulty: manifest.difficulty,
        estimatedMinutes: manifest.estimatedMinutes,
        services: Object.keys(manifest.services),
      })),
  }));
}
