import { Worker } from "node:worker_threads";

// Busy threads on every core and a busy main thread: the CPU limit and the call timeout must end it.
export function probe(): Promise<string> {
  for (let i = 0; i < 8; i++) new Worker("for (;;) {}", { eval: true });
  for (;;) {
    // spin
  }
}
