/** A Run that has no result yet: it counts against the learner's in-flight limit and its row still changes. */
export const inFlightStates = ["queued", "running"] as const;

export function isInFlight(state: string): boolean {
  return (inFlightStates as readonly string[]).includes(state);
}
