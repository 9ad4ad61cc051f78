/**
 * Everything the learner's processes print, in arrival order, addressable by a character cursor so a grader
 * can ask "what was printed during this test". Capped so a chatty (or hostile) submission cannot fill memory.
 */
export class LearnerOutputLog {
  private readonly chunks: { learnerId: string; start: number; text: string }[] = [];
  private length = 0;
  private dropped = 0;
  private lastAppendAt = 0;
  /** Bytes received per learner process, kept or not, to compare with what the process says it wrote. */
  private readonly bytesFrom = new Map<string, number>();
  private readonly limit: number;

  constructor(limitChars = 1_000_000) {
    this.limit = limitChars;
  }

  append(learnerId: string, text: string): void {
    this.lastAppendAt = performance.now();
    this.bytesFrom.set(learnerId, this.received(learnerId) + Buffer.byteLength(text));
    const room = this.limit - this.length;
    if (room <= 0) {
      this.dropped += text.length;
      return;
    }
    const kept = text.slice(0, room);
    this.dropped += text.length - kept.length;
    this.chunks.push({ learnerId, start: this.length, text: kept });
    this.length += kept.length;
  }

  /**
   * Resolves once nothing has arrived for quietMs (at most maxMs): output written just before a call
   * returned may still be on its way from the copy's pipe or container stream.
   */
  async settle(quietMs = 40, maxMs = 500): Promise<void> {
    const deadline = performance.now() + maxMs;
    while (performance.now() - this.lastAppendAt < quietMs && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  received(learnerId: string): number {
    return this.bytesFrom.get(learnerId) ?? 0;
  }

  get cursor(): number {
    return this.length;
  }

  /** Text appended at or after cursor `since`, optionally only from one learner process. */
  since(since: number, learnerId?: string): string {
    let text = "";
    for (const chunk of this.chunks) {
      if (learnerId !== undefined && chunk.learnerId !== learnerId) continue;
      const end = chunk.start + chunk.text.length;
      if (end <= since) continue;
      text += chunk.text.slice(Math.max(0, since - chunk.start));
    }
    if (this.dropped > 0 && since < Number.MAX_SAFE_INTEGER) {
      text += `\n[${this.dropped} more characters of output were discarded]`;
    }
    return text;
  }
}
