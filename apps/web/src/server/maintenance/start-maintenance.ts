import { database } from "../db.ts";
import { log } from "../log.ts";
import { platform } from "../platform.ts";
import { prunePeriodically } from "./prune-stale-rows.ts";

const hourMs = 60 * 60_000;

/** Background upkeep of the web process: hourly pruning of rows nobody needs any more. */
export function startMaintenance(): void {
  prunePeriodically(database().pool, {
    eventDays: 30,
    signInWindowMs: platform().signInThrottle.windowMs,
    everyMs: hourMs,
    log: (line) => log().info(line),
  });
}
