import { type Readable } from "node:stream";

/** Keeps the last lines a service container printed, to explain a failed start. */
export class ServiceLog {
  private readonly lines: string[] = [];
  private readonly keep: number;

  constructor(keep = 200) {
    this.keep = keep;
  }

  consume = (stream: Readable): void => {
    let pending = "";
    stream.on("data", (chunk: Buffer | string) => {
      const parts = (pending + chunk.toString()).split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) this.push(line);
    });
    stream.on("end", () => pending && this.push(pending));
  };

  tail(count = 15): string {
    return this.lines.slice(-count).join("\n");
  }

  find(pattern: RegExp): RegExpExecArray | null {
    for (const line of this.lines) {
      const match = pattern.exec(line);
      if (match) return match;
    }
    return null;
  }

  private push(line: string): void {
    this.lines.push(line.trimEnd());
    if (this.lines.length > this.keep) this.lines.shift();
  }
}
