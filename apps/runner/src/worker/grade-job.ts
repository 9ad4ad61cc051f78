import { errorGradeResult, type GradeResult, type GradeStatus } from "@backend-labs/grade-result";
import { type ClaimedJob, JobCancelledError } from "@backend-labs/grading-queue";
import { gradeSubmission, type SandboxKind } from "../grade/grade-submission.ts";
import { type GradingRuntime } from "../grade/grading-runtime.ts";
import { labForJob } from "./lab-for-job.ts";
import { ProgressRecorder } from "./progress-recorder.ts";
import { submissionFromTexts } from "../grade/submission.ts";

export interface GradeJobContext {
  labsRoot: string;
  runtime: GradingRuntime;
  sandbox: SandboxKind;
  /** Aborts when the worker is asked to stop: the grade tears down and the job goes back to the queue. */
  stop: AbortSignal;
  log: (line: string) => void;
}

/** How a claim ended, for the worker's log and its machine-readable line on stdout. */
export type JobOutcome =
  | { kind: "finished"; status: GradeStatus; pool: GradeResult["timings"]["pool"] }
  /** Another worker holds the job now (or may): nothing was written. */
  | { kind: "lease-lost" }
  /** Its learner cancelled it while it was graded: the grade stopped, nothing was written. */
  | { kind: "cancelled" }
  /** Back in the queue because the worker is stopping; the claim did not count as an attempt. */
  | { kind: "released" }
  /** Back in the queue because of a problem of this worker's machine; the claim counted as an attempt. */
  | { kind: "retry-later"; error: string };

/**
 * Grades one claimed job with the pipeline, keeping its lease alive, writing its progress as events
 * and its result, all fenced by the lease. A lost lease aborts the grade, which then writes nothing.
 */
export async function gradeJob(job: ClaimedJob, context: GradeJobContext): Promise<JobOutcome> {
  using _lease = job.keepLeaseAlive(job.leaseMs / 3, (error) =>
    context.log(`job ${job.id}: lease renewal failed (retrying): ${error.message}`),
  );
  const progress = new ProgressRecorder(job, context.log);
  let result: GradeResult;
  try {
    const found = labForJob(context.labsRoot, job.labId);
    if ("learnerMessage" in found) {
      context.log(`job ${job.id}: ${found.detail}`);
      result = errorGradeResult(job.labId, found.learnerMessage);
    } else {
      result = await gradeSubmission({
        lab: found.lab,
        submission: submissionFromTexts(job.files),
        runtime: context.runtime,
        onProgress: progress.record,
        sandbox: context.sandbox,
        signal: AbortSignal.any([job.leaseLost, context.stop]),
      });
    }
  } catch (error) {
    await progress.flush();
    if (job.leaseLost.aborted) return leaseEnded(job);
    if (context.stop.aborted) return (await job.release()) ? { kind: "released" } : { kind: "lease-lost" };
    const message = (error as Error).stack ?? String(error);
    context.log(`job ${job.id}: the worker could not grade it: ${message}`);
    const requeued = await job.retryLater(
      "The grading server ran into a problem of its own (not your code's); your Run is queued again.",
    );
    return requeued ? { kind: "retry-later", error: (error as Error).message } : { kind: "lease-lost" };
  }
  await progress.flush();
  // Fenced by the lease token: it writes only if no other worker has claimed the job since.
  return (await job.finish(result))
    ? { kind: "finished", status: result.status, pool: result.timings.pool }
    : { kind: "lease-lost" };
}

function leaseEnded(job: ClaimedJob): JobOutcome {
  return job.leaseLost.reason instanceof JobCancelledError ? { kind: "cancelled" } : { kind: "lease-lost" };
}
