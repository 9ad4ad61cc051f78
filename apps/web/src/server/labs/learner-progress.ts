import { type PrismaClient } from "@backend-labs/db";

export type LabProgress = "not-started" | "in-progress" | "passed";

/** Per lab the learner touched: passed once any run passed; in progress once they saved or ran code. */
export async function learnerProgress(
  prisma: PrismaClient,
  userId: string,
): Promise<Map<string, LabProgress>> {
  const [submitted, passed, drafted] = await Promise.all([
    prisma.submission.findMany({ where: { userId }, distinct: ["labId"], select: { labId: true } }),
    prisma.submission.findMany({
      where: { userId, resultStatus: "pass" },
      distinct: ["labId"],
      select: { labId: true },
    }),
    prisma.draft.findMany({ where: { userId }, select: { labId: true } }),
  ]);
  const progress = new Map<string, LabProgress>();
  for (const { labId } of [...submitted, ...drafted]) progress.set(labId, "in-progress");
  for (const { labId } of passed) progress.set(labId, "passed");
  return progress;
}
