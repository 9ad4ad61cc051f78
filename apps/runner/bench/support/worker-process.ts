import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const cliMain = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export type WorkerProcess = ChildProcess & { log: () => string };

/** A real `labs worker` on the given platform database; its stderr is kept for `log()`. */
export function startWorkerProcess(databaseUrl: string, extra: string[]): WorkerProcess {
  let log = "";
  const child = spawn(process.execPath, [cliMain, "worker", "--poll-seconds", "1", ...extra], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => (log += text));
  return Object.assign(child, { log: () => log });
}

/** Until the worker has said it is claiming (its start-up line), or throws with its log. */
export async function waitForWorker(worker: WorkerProcess): Promise<void> {
  for (let waited = 0; !worker.log().includes("concurrency"); waited += 100) {
    if (waited > 120_000 || worker.exitCode !== null)
      throw new Error(`the worker did not start:\n${worker.log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGTERM, as an orchestrator stops it, and waits for the exit. */
export async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  worker.kill("SIGTERM");
  await new Promise((resolve) => worker.once("exit", resolve));
}
