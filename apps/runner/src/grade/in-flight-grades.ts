/**
 * Grades still running and runtimes still holding environments, so a runner asked to stop (SIGINT,
 * SIGTERM) can tear them down before it exits instead of leaving containers and processes behind.
 */
const inFlight = new Set<AsyncDisposableStack>();
const runtimes = new Set<AsyncDisposable>();

export function trackGrade(resources: AsyncDisposableStack): () => void {
  inFlight.add(resources);
  return () => inFlight.delete(resources);
}

export function trackRuntime(runtime: AsyncDisposable): () => void {
  runtimes.add(runtime);
  return () => runtimes.delete(runtime);
}

export async function tearDownInFlightGrades(): Promise<void> {
  const stacks = [...inFlight];
  inFlight.clear();
  await Promise.allSettled(stacks.map((stack) => stack.disposeAsync()));
  await Promise.allSettled([...runtimes].map((runtime) => runtime[Symbol.asyncDispose]()));
}
