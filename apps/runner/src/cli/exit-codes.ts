import { type GradeStatus } from "@backend-labs/grade-result";

/** pass 0, fail 1, error (the learner's or the input's) 2. */
export const exitCodes = { pass: 0, fail: 1, error: 2 } as const satisfies Record<GradeStatus, number>;
