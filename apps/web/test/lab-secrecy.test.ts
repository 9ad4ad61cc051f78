import { readFileSync } from "node:fs";
import { join } from "node:path";
import { labFiles, listFiles } from "@backend-labs/lab-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRouterHarness } from "./support/router-harness.ts";

let harness: Awaited<ReturnType<typeof startRouterHarness>>;
beforeAll(async () => {
  harness = await startRouterHarness();
});
afterAll(() => harness[Symbol.asyncDispose]());

/** Lines long and specific enough that their presence means the file itself leaked. */
function distinctiveLines(content: string, publicText: string): string[] {
  return content
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length >= 30 && !publicText.includes(line));
}

describe("the solution, mutants and grader of a lab never reach a browser", () => {
  it("lab.get of every lab holds nothing from solution/, mutants/ or grader/ that the starter lacks", async () => {
    const { api } = await harness.call();
    const labs = harness.catalog.current().labs;
    expect(labs.length).toBeGreaterThanOrEqual(24);
    for (const lab of labs) {
      const served = JSON.stringify(await api.lab.get({ labId: lab.manifest.id }));
      const starter =
        listFiles(join(lab.dir, labFiles.starter))
          .map((path) => readFileSync(join(lab.dir, labFiles.starter, path), "utf8"))
          .join("\n") + readFileSync(join(lab.dir, labFiles.instructions), "utf8");
      for (const tree of [labFiles.solution, labFiles.mutants, labFiles.grader]) {
        for (const path of listFiles(join(lab.dir, tree))) {
          const content = readFileSync(join(lab.dir, tree, path), "utf8");
          for (const line of distinctiveLines(content, starter)) {
            expect(served, `${lab.manifest.id}: ${tree}/${path} leaked "${line}"`).not.toContain(
              JSON.stringify(line).slice(1, -1),
            );
          }
        }
      }
      for (const mutant of lab.manifest.mutants) expect(served).not.toContain(mutant.mistake);
    }
  });
});
