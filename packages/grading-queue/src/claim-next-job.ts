import { randomBytes } from "node:crypto";
import type pg from "pg";
import { errorGradeResult } from "@backend-labs/grade-result";
import { ClaimedJob, type ClaimedJobFields } from "./claimed-job.ts";
import { submissionFilesSchema } from "./get-submission.ts";
import { insertEvent } from "./insert-event.ts";
import { capResultForStorage } from "./storage-caps.ts";
import { withTransaction } from "./with-transaction.ts";

export interface ClaimOptions {
  /** Names the worker in the row and in the `claimed` event (e.g. host:pid:start). */
  workerId: string;
  leaseMs: number;
  /** Claims a job may get before it ends as an error instead (default 3). */
  maxAttempts?: number;
}

export const defaultMaxAttempts = 3;

interface CandidateRow {
  id: string;
  user_id: string;
  lab_id: string;
  files: unknown;
  state: "queued" | "running";
  attempts: number;
}

type Step = { kind: "claimed"; fields: ClaimedJobFields } | { kind: "empty" } | { kind: "ended" };

/**
 * Claims the oldest job that is queued, or running under a lease that expired (its worker died or hung),
 * with FOR UPDATE SKIP LOCKED so concurrent claimers never take the same one. The claim sets a fresh
 * random lease token, attempts + 1, the worker and the lease's expiry. A job that already used up its
 * attempts (or whose files are unreadable) is finished as an error instead, and the next one is tried.
 * Returns undefined when there is nothing to claim.
 */
export async function claimNextJob(pool: pg.Pool, options: ClaimOptions): Promise<ClaimedJob | undefined> {
  const maxAttempts = options.maxAttempts ?? defaultMaxAttempts;
  for (;;) {
    const claimSentAt = performance.now();
    const step = await withTransaction(pool, async (client): Promise<Step> => {
      const { rows } = await client.query<CandidateRow>(
        `SELECT id, user_id, lab_id, files, state, attempts FROM submissions
         WHERE state = 'queued' OR (state = 'running' AND lease_expires_at < now())
         ORDER BY created_at, id
         LIMIT 1
         FOR UPDATE SKIP LOCKED`,
      );
      const candidate = rows[0];
      if (!candidate) return { kind: "empty" };
      if (candidate.attempts >= maxAttempts) {
        await endWithError(
          client,
          candidate,
          `Grading was interrupted ${candidate.attempts} times without finishing; please run again.`,
        );
        return { kind: "ended" };
      }
      const files = submissionFilesSchema.safeParse(candidate.files);
      if (!files.success) {
        await endWithError(client, candidate, "The submission's files could not be read; please run again.");
        return { kind: "ended" };
      }
      const attempt = candidate.attempts + 1;
      const leaseToken = randomBytes(18).toString("base64url");
      const { rows: claimed } = await client.query<{ lease_expires_at: Date }>(
        `UPDATE submissions
         SET state = 'running', attempts = $2, lease_token = $3, worker_id = $4, started_at = now(),
             lease_expires_at = now() + $5::double precision * interval '1 millisecond'
         WHERE id = $1
         RETURNING lease_expires_at`,
        [candidate.id, attempt, leaseToken, options.workerId, options.leaseMs],
      );
      if (candidate.state === "running") {
        await insertEvent(client, candidate.id, candidate.attempts, {
          type: "retrying",
          reason: `Attempt ${candidate.attempts} stopped without finishing (its worker stopped answering); grading again.`,
        });
      }
      await insertEvent(client, candidate.id, attempt, {
        type: "claimed",
        attempt,
        workerId: options.workerId,
      });
      return {
        kind: "claimed",
        fields: {
          id: candidate.id,
          userId: candidate.user_id,
          labId: candidate.lab_id,
          files: files.data,
          attempt,
          workerId: options.workerId,
          leaseToken,
          leaseMs: options.leaseMs,
          leaseExpiresAt: claimed[0]!.lease_expires_at,
        },
      };
    });
    if (step.kind === "claimed") return new ClaimedJob(pool, step.fields, claimSentAt);
    if (step.kind === "empty") return undefined;
  }
}

async function endWithError(client: pg.PoolClient, candidate: CandidateRow, message: string): Promise<void> {
  const result = capResultForStorage(errorGradeResult(candidate.lab_id, message));
  await client.query(
    `UPDATE submissions
     SET state = 'finished', result_status = 'error', result = $2::jsonb, finished_at = now(),
         lease_token = NULL, lease_expires_at = NULL
     WHERE id = $1`,
    [candidate.id, JSON.stringify(result)],
  );
  await insertEvent(client, candidate.id, candidate.attempts, { type: "finished", status: "error" });
}
