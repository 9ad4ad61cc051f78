import { z } from "zod";
import { gradeStatus } from "./grade-result-schema.ts";

/** The grading pipeline's stages, in the order a grade reaches them. */
export const gradingStages = [
  "validate",
  "workspace",
  "provision",
  "typecheck",
  "start",
  "run",
  "teardown",
] as const;
export type GradingStage = (typeof gradingStages)[number];

/**
 * What a grade reports while it works: the CLI prints these to stderr, the worker stores them as events
 * and the web app streams them to the learner.
 */
export const gradeProgressSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("stage"), stage: z.enum(gradingStages), detail: z.string().optional() }),
  z.object({
    type: z.literal("test"),
    name: z.string(),
    status: gradeStatus,
    durationMs: z.number().nonnegative(),
    /** Why it failed: the assertion's teaching message (the result carries the same text). */
    message: z.string().optional(),
    taskId: z.number().int().optional(),
  }),
]);
export type GradeProgress = z.infer<typeof gradeProgressSchema>;
export type ProgressListener = (event: GradeProgress) => void;
