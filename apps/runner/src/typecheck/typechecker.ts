import { Worker } from "node:worker_threads";
import { type TypeProblem, type WorkspaceSource } from "./typecheck-learner-code.ts";
import { type TypecheckReply, type TypecheckRequest } from "./typecheck-thread.ts";

/**
 * Type-checks off the runner's event loop, in a worker thread that keeps its parsed declaration files
 * between grades: a grade's services are handed out while its code is checked, and other grades' I/O is
 * not held up by the checker.
 */
export class Typechecker implements AsyncDisposable {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (problems: TypeProblem[]) => void; reject: (error: Error) => void }
  >();
  private nextId = 1;

  constructor() {
    this.worker = new Worker(new URL("./typecheck-thread.ts", import.meta.url));
    // An idle checker must not keep the runner alive.
    this.worker.unref();
    this.worker.on("message", (reply: TypecheckReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if ("error" in reply) waiting?.reject(new Error(`type-checking failed: ${reply.error}`));
      else waiting?.resolve(reply.problems);
    });
    this.worker.on("error", (error: Error) => {
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    });
  }

  check(source: WorkspaceSource): Promise<TypeProblem[]> {
    const id = this.nextId++;
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, source } satisfies TypecheckRequest);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.worker.terminate();
  }
}
