/** Exercism caps a test's output at 500 characters; the notice tells the learner some was cut. */
export const outputLimit = 500;

export function capOutput(text: string, limit: number = outputLimit): string {
  if (text.length <= limit) return text;
  const notice = `\n[output truncated: showing ${limit} of ${text.length} characters]`;
  return text.slice(0, limit) + notice;
}
