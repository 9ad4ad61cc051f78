export { type ClaimOptions, claimNextJob, defaultMaxAttempts } from "./claim-next-job.ts";
export { cancelSubmission } from "./cancel-submission.ts";
export { ClaimedJob, JobCancelledError, LeaseLostError } from "./claimed-job.ts";
export { gradingJobsChannel, submissionEventsChannel } from "./channels.ts";
export { type EnqueueInput, enqueueInputSchema, enqueueSubmission } from "./enqueue-submission.ts";
export { type FollowOptions, followSubmissionEvents } from "./follow-submission-events.ts";
export { getSubmission, type JobState, type SubmissionRecord } from "./get-submission.ts";
export { type GradingEvent, gradingEventSchema, type StoredGradingEvent } from "./grading-event.ts";
export { JobWakeups, type JobWakeupsOptions } from "./job-wakeups.ts";
export { listEvents } from "./list-events.ts";
export { type Queryable } from "./queryable.ts";
export { capResultForStorage, messageLimit } from "./storage-caps.ts";
export {
  type FeedListener,
  type FeedNotice,
  SubmissionEventFeed,
  type SubmissionEventFeedOptions,
} from "./submission-event-feed.ts";
