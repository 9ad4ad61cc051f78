import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/server/log.ts";

function collector() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

describe("the web app's logger", () => {
  it("writes JSON lines for a log pipeline, with what a child logger is about", () => {
    const { stream, lines } = collector();
    createLogger(stream, { readable: false })
      .child({ userId: "u-1" })
      .warn({ procedure: "submission.run" }, "refused");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 40,
      service: "web",
      userId: "u-1",
      procedure: "submission.run",
      msg: "refused",
    });
  });

  it("writes readable lines on a terminal", () => {
    const { stream, lines } = collector();
    createLogger(stream, { readable: true }).info("pruned 2 expired session(s)");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/INFO.*: pruned 2 expired session\(s\)$/);
    expect(lines[0]).not.toMatch(/^\{/);
  });
});
