/**
 * JSON for a committed report: its head readable at the top, then one line per entry of its list (the last
 * key), so that a re-run changes only the lines of the entries that changed.
 */
export function jsonWithLinePerEntry(
  head: Record<string, unknown>,
  listKey: string,
  entries: unknown[],
): string {
  const top = JSON.stringify(head, null, 2).replace(/\n}$/, "");
  const lines = entries.map((entry) => `    ${JSON.stringify(entry)}`);
  return `${top},\n  ${JSON.stringify(listKey)}: [\n${lines.join(",\n")}\n  ]\n}\n`;
}
