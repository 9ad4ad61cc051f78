import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { LabFormatError } from "./lab-format-error.ts";
import { type Lab, labFiles, loadLab } from "./load-lab.ts";
import { roadmapSections } from "./roadmap-sections.ts";

export interface Catalog {
  labs: Lab[];
  /** Lab folders that could not be loaded; the rest of the catalog still works. */
  invalid: LabFormatError[];
}

/** Every lab under labsRoot, in roadmap order then by id. Invalid labs are reported, not thrown. */
export function discoverLabs(labsRoot: string): Catalog {
  const labs: Lab[] = [];
  const invalid: LabFormatError[] = [];
  for (const section of roadmapSections) {
    const sectionDir = join(labsRoot, section.folder);
    if (!existsSync(sectionDir)) continue;
    for (const entry of readdirSync(sectionDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const labDir = join(sectionDir, entry.name);
      if (!existsSync(join(labDir, labFiles.manifest))) continue;
      try {
        labs.push(loadLab(labDir));
      } catch (error) {
        if (!(error instanceof LabFormatError)) throw error;
        invalid.push(error);
      }
    }
  }
  const firstDirById = new Map<string, string>();
  const unique = labs.filter((lab) => {
    const first = firstDirById.get(lab.manifest.id);
    if (first === undefined) {
      firstDirById.set(lab.manifest.id, lab.dir);
      return true;
    }
    invalid.push(
      new LabFormatError(lab.dir, [
        {
          file: join(lab.dir, labFiles.manifest),
          field: "id",
          message: `id "${lab.manifest.id}" is already used by ${first}`,
        },
      ]),
    );
    return false;
  });
  unique.sort((a, b) => a.section.number - b.section.number || a.manifest.id.localeCompare(b.manifest.id));
  return { labs: unique, invalid };
}
