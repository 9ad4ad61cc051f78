/** Exercism caps a test's output at 500 characters; the notice tells the learner some was cut. */
export const outputLimit = 500;

/**
 * Cuts text longer than `limit`, adding a notice that says how much there was. Text this function
 * already cut to the same limit is returned as it is, so capping again (the runner, then the queue's
 * storage) keeps the original length in the notice.
 */
export function capOutput(text: string, limit: number = outputLimit): string {
  if (text.length <= limit) return text;
  const rest = text.slice(limit);
  if (new RegExp(`^\\n\\[output truncated: showing ${limit} of \\d+ characters\\]$`).test(rest)) return text;
  return `${text.slice(0, limit)}\n[output truncated: showing ${limit} of ${text.length} characters]`;
}
