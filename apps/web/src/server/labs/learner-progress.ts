import type { PrismaClient } from "@backend-labs/db";

export type LabProgress = "not-started" | "in-progress" | "passed";

export interface LearnerProgress {
  /** Per lab the learner ran: passed once any run passed, in progress from the first Run. */
  labs: Map<string, LabProgress>;
  /** The lab the learner last worked on (a draft saved or a Run) and has not passed yet. */
  lastWorkedOn: string | null;
}

export async function learnerProgress(prisma: PrismaClient, userId: string): Promise<LearnerProgress> {
  const [runs, passed, drafts] = await Promise.all([
    prisma.submission.groupBy({ by: ["labId"], where: { userId }, _max: { createdAt: true } }),
    prisma.submission.findMany({
      where: { userId, resultStatus: "pass" },
      distinct: ["labId"],
      select: { labId: true },
    }),
    prisma.draft.findMany({ where: { userId }, select: { labId: true, updatedAt: true } }),
  ]);
  const labs = new Map<string, LabProgress>();
  for (const { labId } of runs) labs.set(labId, "in-progress");
  for (const { labId } of passed) labs.set(labId, "passed");
  const activity = [
    ...runs.map((run) => ({ labId: run.labId, at: run._max.createdAt ?? new Date(0) })),
    ...drafts.map((draft) => ({ labId: draft.labId, at: draft.updatedAt })),
  ]
    .filter((entry) => labs.get(entry.labId) !== "passed")
    .sort((a, b) => b.at.getTime() - a.at.getTime());
  return { labs, lastWorkedOn: activity[0]?.labId ?? null };
}
