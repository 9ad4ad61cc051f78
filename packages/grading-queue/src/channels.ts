/** NOTIFY channels. grading_jobs: payload = submission id, "a job may be claimable". */
export const gradingJobsChannel = "grading_jobs";
/** submission_events: payload = "<submission id>:<event id>", "this event was stored". */
export const submissionEventsChannel = "submission_events";

/**
 * SQL expression announcing a row of the CTE `event` (inserted submission_events: id, submission_id).
 * Notifications are delivered at commit, so a listener never hears of an event it cannot read yet.
 */
export const notifyEvent = `pg_notify('${submissionEventsChannel}', event.submission_id::text || ':' || event.id::text)`;

/** SQL expression waking the workers for the CTE `event`'s submission. */
export const notifyJob = `pg_notify('${gradingJobsChannel}', event.submission_id::text)`;
