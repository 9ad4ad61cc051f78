import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `check` until it is true or `timeoutMs` passes; returns whether it became true, so the caller's
 * assertion can say what did not happen (vitest's expect.poll asserts by itself).
 */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
