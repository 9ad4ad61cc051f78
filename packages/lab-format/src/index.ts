export { discoverLabs, type Catalog } from "./discover-labs.ts";
export { LabFormatError, type LabProblem } from "./lab-format-error.ts";
export { labFiles, listFiles, loadLab, type Lab } from "./load-lab.ts";
export { type LabTree, mutantSubmissionFiles, treeSubmissionFiles } from "./lab-trees.ts";
export {
  applyMutantPatch,
  createMutantPatch,
  LabTreeError,
  patchedPaths,
  type TreeFiles,
} from "./mutant-patch.ts";
export {
  labManifestJsonSchema,
  labManifestSchema,
  serviceNames,
  workspacePath,
  type EquivalentMutant,
  type LabManifest,
  type MutantDeclaration,
  type ServiceName,
} from "./manifest-schema.ts";
export {
  roadmapSections,
  sectionByFolder,
  sectionByNumber,
  type RoadmapSection,
} from "./roadmap-sections.ts";
export { learnerCompilerOptions } from "./learner-compiler-options.ts";
export {
  formatMutationReport,
  labInputsHash,
  maximumEquivalentShare,
  minimumMutationScore,
  type MutantStatus,
  mutationReportProblems,
  type MutationReport,
  mutationReportSchema,
  type MutationSummary,
  readMutationReport,
  type ReportedMutant,
  summarize,
} from "./mutation-report.ts";
export {
  promisesSchema,
  promiseTableProblems,
  type PromiseTable,
  readmeSentences,
  readPromiseTable,
} from "./readme-promises.ts";
export { readStrengthBacklog, strengthBacklogFile } from "./strength-backlog.ts";
export { hashInputs } from "./inputs-hash.ts";
export {
  freshValidationRecord,
  type ValidationRecord,
  validationInputsHash,
  writeValidationRecord,
} from "./validation-record.ts";
export { type LabFile, publicLab, type PublicLab, starterFiles } from "./public-lab.ts";
