/**
 * Edits not yet saved to the server, kept in the browser's localStorage on every change, so that leaving
 * the page (a link, the back button, a reload, a closed tab) between a keystroke and the next autosave
 * loses nothing: the next visit picks them up and saves them.
 */
const keyOf = (labId: string) => `backend-labs:unsaved:${labId}`;

export function keepUnsavedEdits(labId: string, files: Record<string, string>): void {
  try {
    localStorage.setItem(keyOf(labId), JSON.stringify(files));
  } catch {
    // Storage full or disabled: the autosave still runs, only this safety net is missing.
  }
}

export function unsavedEdits(labId: string): Record<string, string> | null {
  try {
    const text = localStorage.getItem(keyOf(labId));
    const files: unknown = text ? JSON.parse(text) : null;
    if (!files || typeof files !== "object") return null;
    const entries = Object.entries(files);
    const texts = entries.filter((entry): entry is [string, string] => typeof entry[1] === "string");
    return texts.length === entries.length ? Object.fromEntries(texts) : null;
  } catch {
    return null;
  }
}

/** The server has these files: the local copy is not needed, unless the learner typed on meanwhile. */
export function forgetUnsavedEdits(labId: string, saved: Record<string, string>): void {
  const kept = unsavedEdits(labId);
  if (kept && JSON.stringify(kept) !== JSON.stringify(saved)) return;
  try {
    localStorage.removeItem(keyOf(labId));
  } catch {
    // Nothing to clean up then.
  }
}
