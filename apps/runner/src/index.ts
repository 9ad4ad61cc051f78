export { gradeSubmission, type GradeRequest } from "./grade/grade-submission.ts";
export { GradingRuntime, noPool, poolFor } from "./grade/grading-runtime.ts";
export { readSubmissionDir, type Submission } from "./grade/submission.ts";
export { renderReport, reportFormats, type ReportFormat } from "./report/render-report.ts";
