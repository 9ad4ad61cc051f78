/**
 * A failed test's message as the runner sends it: the grader's teaching text, then, for values that span
 * lines, the assertion library's "- Expected / + Received" diff after a blank line. The text explains the
 * failure; the diff is the evidence, shown on request.
 */
export function splitTestMessage(message: string): { text: string; diff: string | undefined } {
  const at = message.search(/\n\n- Expected\b/);
  if (at < 0) return { text: message, diff: undefined };
  return { text: message.slice(0, at), diff: message.slice(at + 2) };
}
