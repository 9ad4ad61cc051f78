/** What a grader keeps of an HTTP answer from the learner's server. */
export interface HttpReply {
  status: number;
  text: string;
}

/** "got 500 {"error":...}": what the learner's server answered, for assertion messages. */
export function got(reply: HttpReply, maxBody = 300): string {
  const body = reply.text.length > maxBody ? `${reply.text.slice(0, maxBody)}...` : reply.text;
  return `got ${reply.status}${body ? ` ${body}` : " with no body"}`;
}
