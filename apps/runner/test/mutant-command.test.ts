import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureLabsRoot } from "./support/paths.ts";
import { labs } from "./support/run-labs-cli.ts";

// A labs folder of its own: saving a mutant writes into the lab.
const labsDir = mkdtempSync(join(tmpdir(), "labs-mutant-command-"));
const labDir = join(labsDir, "01-fundamentals/text-tools");
cpSync(join(fixtureLabsRoot, "01-fundamentals/text-tools"), labDir, { recursive: true });
afterAll(() => rmSync(labsDir, { recursive: true, force: true }));

const mutantCli = (args: string[]) => labs(["mutant", ...args], { BACKEND_LABS_LABS_DIR: labsDir });
const readLab = () =>
  JSON.parse(readFileSync(join(labDir, "lab.json"), "utf8")) as {
    mutants: { id: string; mistake: string; origin?: string }[];
  };

describe("labs mutant edit and save", () => {
  it("saves an edited copy of the solution as a new mutant's patch, and says to format lab.json", async () => {
    const dir = join(labsDir, "edit-new");
    expect((await mutantCli(["edit", "text-tools", "single-spaces", dir])).code).toBe(0);
    const text = readFileSync(join(dir, "src/text.ts"), "utf8");
    expect(text).toBe(readFileSync(join(labDir, "solution/src/text.ts"), "utf8"));
    writeFileSync(join(dir, "src/text.ts"), text.replace("split(/\\s+/)", 'split(" ")'));

    const saved = await mutantCli([
      "save",
      "text-tools",
      "single-spaces",
      dir,
      "--mistake",
      "Splits on single spaces only, so tabs and newlines join words",
      "--origin",
      "probe",
    ]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stderr).toContain("added single-spaces to lab.json: format it before anything else");
    expect(readFileSync(join(labDir, "mutants/single-spaces.patch"), "utf8")).toContain(
      '+  return text.split(" ")',
    );
    expect(readLab().mutants).toContainEqual({
      id: "single-spaces",
      mistake: "Splits on single spaces only, so tabs and newlines join words",
      origin: "probe",
    });
  });

  it("edits a declared mutant as files (its patch applied) and saves it back without touching lab.json", async () => {
    const dir = join(labsDir, "edit-declared");
    expect((await mutantCli(["edit", "text-tools", "off-by-one", dir])).code).toBe(0);
    expect(readFileSync(join(dir, "src/text.ts"), "utf8")).toContain("text.trim().split(/\\s+/).length - 1");
    const manifestBefore = readFileSync(join(labDir, "lab.json"), "utf8");

    const saved = await mutantCli(["save", "text-tools", "off-by-one", dir]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stderr).not.toContain("format it");
    expect(readFileSync(join(labDir, "lab.json"), "utf8")).toBe(manifestBefore);
  });

  it("refuses a mutant that changes nothing, naming the tree it equals", async () => {
    const dir = join(labsDir, "edit-unchanged");
    await mutantCli(["edit", "text-tools", "no-change", dir]);
    const saved = await mutantCli([
      "save",
      "text-tools",
      "no-change",
      dir,
      "--mistake",
      "Changes nothing at all",
    ]);
    expect(saved.code).not.toBe(0);
    expect(saved.stderr).toContain("is identical to solution/: a mutant must change something");
    expect(existsSync(join(labDir, "mutants/no-change.patch"))).toBe(false);
  });
});
