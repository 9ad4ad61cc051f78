import { type GradeResult, gradeResultSchema, type GradeStatus } from "@backend-labs/grade-result";
import { z } from "zod";
import { type Queryable } from "./queryable.ts";

export type JobState = "queued" | "running" | "finished" | "cancelled";

/** A submission as the queue sees it. */
export interface SubmissionRecord {
  id: string;
  userId: string;
  labId: string;
  files: Record<string, string>;
  state: JobState;
  attempts: number;
  workerId: string | null;
  leaseExpiresAt: Date | null;
  resultStatus: GradeStatus | null;
  result: GradeResult | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

interface SubmissionRow {
  id: string;
  user_id: string;
  lab_id: string;
  files: unknown;
  state: JobState;
  attempts: number;
  worker_id: string | null;
  lease_expires_at: Date | null;
  result_status: GradeStatus | null;
  result: unknown;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export const submissionFilesSchema = z.record(z.string(), z.string());

/** The submission with this id, or undefined (also for an id that is not a UUID). */
export async function getSubmission(db: Queryable, id: string): Promise<SubmissionRecord | undefined> {
  if (!z.uuid().safeParse(id).success) return undefined;
  const { rows } = await db.query<SubmissionRow>(
    `SELECT id, user_id, lab_id, files, state, attempts, worker_id, lease_expires_at, result_status, result,
            created_at, started_at, finished_at
     FROM submissions WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    userId: row.user_id,
    labId: row.lab_id,
    files: submissionFilesSchema.parse(row.files),
    state: row.state,
    attempts: row.attempts,
    workerId: row.worker_id,
    leaseExpiresAt: row.lease_expires_at,
    resultStatus: row.result_status,
    result: row.result === null ? null : gradeResultSchema.parse(row.result),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
