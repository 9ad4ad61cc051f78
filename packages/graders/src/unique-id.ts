import { randomUUID } from "node:crypto";

/** A name no other test (or grade) uses, so tests never share rows, keys or topics: `order-1f2e3d4c`. */
export function uid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
