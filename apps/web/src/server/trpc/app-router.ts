import { createCallerFactory, router } from "./init.ts";
import { authRouter } from "./routers/auth-router.ts";
import { draftRouter } from "./routers/draft-router.ts";
import { instructorRouter } from "./routers/instructor-router.ts";
import { labRouter } from "./routers/lab-router.ts";
import { submissionRouter } from "./routers/submission-router.ts";
import { tokenRouter } from "./routers/token-router.ts";

export const appRouter = router({
  auth: authRouter,
  lab: labRouter,
  draft: draftRouter,
  submission: submissionRouter,
  instructor: instructorRouter,
  token: tokenRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
