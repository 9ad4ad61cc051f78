import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hiddenImplementations } from "../src/hidden-implementations.ts";

const labDir = mkdtempSync(join(tmpdir(), "hidden-implementations-"));
afterAll(() => rmSync(labDir, { recursive: true, force: true }));
function write(path: string, content: string): void {
  mkdirSync(dirname(join(labDir, path)), { recursive: true });
  writeFileSync(join(labDir, path), content);
}

write(
  "starter/src/price.ts",
  "// the shipped one\nexport const tax = (cents: number) => Math.round(cents * 0.1);\n",
);
write(
  "fixtures/variants/tax-truncated.patch",
  [
    "--- a/starter/src/price.ts",
    "+++ b/starter/src/price.ts",
    "@@ -1,2 +1,3 @@",
    " // the shipped one",
    "-export const tax = (cents: number) => Math.round(cents * 0.1);",
    "+// BUG: truncates",
    "+export const tax = (cents: number) => Math.floor(cents * 0.1);",
    "",
  ].join("\n"),
);
write(
  "fixtures/variants/rewritten.ts",
  "/** a rewrite */\nexport function tax(c: number) { return Math.round(c / 10); }\n",
);
write(
  "fixtures/variants/stale.patch",
  "--- a/starter/src/price.ts\n+++ b/starter/src/price.ts\n@@ -1,1 +1,1 @@\n-export const nothing = 1;\n+export const nothing = 2;\n",
);

describe("hiddenImplementations", () => {
  const { source, variant } = hiddenImplementations(labDir);

  it("gives a lab file's source without its comment lines", () => {
    expect(source("starter/src/price.ts")).toBe(
      "export const tax = (cents: number) => Math.round(cents * 0.1);\n",
    );
  });

  it("applies a variant's patch to the file it names, and hides the note about its bug", () => {
    expect(variant("tax-truncated")).toBe("export const tax = (cents: number) => Math.floor(cents * 0.1);\n");
  });

  it("reads a variant written out whole", () => {
    expect(variant("rewritten")).toBe("export function tax(c: number) { return Math.round(c / 10); }\n");
  });

  it("names the variant whose patch no longer applies", () => {
    expect(() => variant("stale")).toThrow(/fixtures\/variants\/stale\.patch/);
  });
});
