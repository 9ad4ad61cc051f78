/**
 * Resources of grades still running, so a runner asked to stop (SIGINT, SIGTERM) can tear them down
 * before it exits instead of leaving containers and processes behind.
 */
const inFlight = new Set<AsyncDisposableStack>();

export function trackGrade(resources: AsyncDisposableStack): () => void {
  inFlight.add(resources);
  return () => inFlight.delete(resources);
}

export async function tearDownInFlightGrades(): Promise<void> {
  const stacks = [...inFlight];
  inFlight.clear();
  await Promise.allSettled(stacks.map((stack) => stack.disposeAsync()));
}
