export { gradeSubmission, type GradeRequest } from "./grade/grade-submission.ts";
export { type GradeProgress, type GradeStage, type ProgressListener } from "./grade/grade-progress.ts";
export { readSubmissionDir, type Submission } from "./grade/submission.ts";
export { renderReport, reportFormats, type ReportFormat } from "./report/render-report.ts";
