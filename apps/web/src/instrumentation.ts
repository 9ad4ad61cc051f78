/**
 * Runs once when the server starts: a bad environment stops it here, with every problem named; then the
 * background upkeep starts (not while `next build` collects pages: there is no database then).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { exitOnInvalidEnvironment } = await import("./server/check-environment.ts");
    exitOnInvalidEnvironment();
    if (process.env.NEXT_PHASE !== "phase-production-build") {
      const { startMaintenance } = await import("./server/maintenance/start-maintenance.ts");
      startMaintenance();
    }
  }
}
