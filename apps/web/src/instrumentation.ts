/** Runs once when the server starts: a bad environment stops it here, with every problem named. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { exitOnInvalidEnvironment } = await import("./server/check-environment.ts");
    exitOnInvalidEnvironment();
  }
}
