export { capOutput, outputLimit } from "./cap-output.ts";
export {
  type GradeProgress,
  gradeProgressSchema,
  type GradingStage,
  gradingStages,
  type ProgressListener,
} from "./grade-progress.ts";
export {
  errorGradeResult,
  gradeResultSchema,
  gradeStatus,
  stageTimingsSchema,
  testResultSchema,
  type GradeResult,
  type GradeStatus,
  type StageTimings,
  type TestResult,
} from "./grade-result-schema.ts";
