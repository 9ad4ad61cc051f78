export { discoverLabs, type Catalog } from "./discover-labs.ts";
export { LabFormatError, type LabProblem } from "./lab-format-error.ts";
export { labFiles, listFiles, loadLab, type Lab } from "./load-lab.ts";
export {
  labManifestJsonSchema,
  labManifestSchema,
  serviceNames,
  workspacePath,
  type LabManifest,
  type ServiceName,
} from "./manifest-schema.ts";
export {
  roadmapSections,
  sectionByFolder,
  sectionByNumber,
  type RoadmapSection,
} from "./roadmap-sections.ts";
export { learnerCompilerOptions } from "./learner-compiler-options.ts";
