import { createHash } from "node:crypto";

/** Secrets (session cookies, API tokens) are stored as their SHA-256, so a leaked table opens nothing. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
