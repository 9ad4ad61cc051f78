export { capOutput, outputLimit } from "./cap-output.ts";
export {
  gradeResultSchema,
  gradeStatus,
  stageTimingsSchema,
  testResultSchema,
  type GradeResult,
  type GradeStatus,
  type StageTimings,
  type TestResult,
} from "./grade-result-schema.ts";
