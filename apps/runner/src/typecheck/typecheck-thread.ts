// A worker thread that type-checks workspaces with one warm LearnerTypechecker (see typechecker.ts).
import { parentPort } from "node:worker_threads";
import { LearnerTypechecker, type TypeProblem, type WorkspaceSource } from "./typecheck-learner-code.ts";

export interface TypecheckRequest {
  id: number;
  source: WorkspaceSource;
}
export type TypecheckReply = { id: number; problems: TypeProblem[] } | { id: number; error: string };

const checker = new LearnerTypechecker();
parentPort?.on("message", ({ id, source }: TypecheckRequest) => {
  try {
    parentPort?.postMessage({ id, problems: checker.check(source) } satisfies TypecheckReply);
  } catch (error) {
    parentPort?.postMessage({ id, error: (error as Error).stack ?? String(error) } satisfies TypecheckReply);
  }
});
