import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  applyMutantPatch,
  createMutantPatch,
  discoverLabs,
  freshValidationRecord,
  LabFormatError,
  LabTreeError,
  loadLab,
  mutantSubmissionFiles,
  promiseTableProblems,
  treeSubmissionFiles,
  validationInputsHash,
  writeValidationRecord,
} from "../src/index.ts";

const roots: string[] = [];

function manifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "demo-lab",
    title: "Demo lab",
    summary: "A lab used by the lab-format tests.",
    roadmap: { section: 4, topics: ["caching"] },
    difficulty: "beginner",
    estimatedMinutes: 10,
    services: { redis: { version: ">=7" } },
    learner: { entry: "src/cache.ts", editable: ["src/cache.ts"], exports: ["get"] },
    tasks: [{ id: 1, title: "Cache things", hints: ["Look at the TTL options of SET."] }],
    timeLimitSeconds: 30,
    mutants: [{ id: "no-ttl", mistake: "Caches forever, so stale data is served" }],
    ...overrides,
  };
}

/** Writes a lab folder under labs/04-caching/<folder> and returns its path. */
function writeLab(files: Record<string, string>, folder = "demo-lab", section = "04-caching"): string {
  const root = roots.at(-1) ?? mkdtempSync(join(tmpdir(), "lab-format-"));
  if (!roots.includes(root)) roots.push(root);
  const labDir = join(root, section, folder);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(labDir, path)), { recursive: true });
    writeFileSync(join(labDir, path), content);
  }
  return labDir;
}

const noTtlPatch = [
  "--- a/src/cache.ts",
  "+++ b/src/cache.ts",
  "@@ -1,1 +1,1 @@",
  "-export function get() {}",
  "+export function get() { return 1; }",
  "",
].join("\n");

const completeLab = (lab = manifest()) => ({
  "lab.json": JSON.stringify(lab),
  "README.md": "# Demo\n",
  "starter/src/cache.ts": "export function get() {}\n",
  "solution/src/cache.ts": "export function get() {}\n",
  "grader/cache.test.ts": "",
  "mutants/no-ttl.patch": noTtlPatch,
});

function problemsOf(labDir: string): string[] {
  try {
    loadLab(labDir);
  } catch (error) {
    if (error instanceof LabFormatError)
      return error.problems.map((p) => `${p.file.slice(labDir.length + 1)}|${p.field ?? ""}|${p.message}`);
    throw error;
  }
  return [];
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe("loadLab", () => {
  it("loads a complete lab with defaults applied", () => {
    const lab = loadLab(writeLab(completeLab()));
    expect(lab.manifest.id).toBe("demo-lab");
    expect(lab.section.name).toBe("Caching");
    expect(lab.manifest.callTimeoutSeconds).toBe(10);
    expect(lab.graderFiles.map((file) => file.split("/").at(-1))).toEqual(["cache.test.ts"]);
  });

  it("names the file and the field of a bad manifest value", () => {
    const labDir = writeLab(
      completeLab(manifest({ difficulty: "expert", tasks: [{ id: 1, title: "Cache", hints: [] }] })),
    );
    const problems = problemsOf(labDir);
    expect(problems).toContainEqual(expect.stringMatching(/^lab\.json\|difficulty\|/));
    expect(problems).toContainEqual(expect.stringMatching(/^lab\.json\|tasks\[0\]\.hints\|/));
  });

  it("rejects unknown fields and unknown services", () => {
    const problems = problemsOf(
      writeLab(completeLab(manifest({ services: { mongo: { version: "7" } }, colour: "blue" }))),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^lab\.json\|services\|.*mongo/));
    expect(problems).toContainEqual(expect.stringMatching(/^lab\.json\|\(root\)\|.*colour/));
  });

  it("reports a manifest that is not JSON", () => {
    expect(problemsOf(writeLab({ ...completeLab(), "lab.json": "{ nope" }))).toEqual([
      expect.stringMatching(/^lab\.json\|\|.*JSON/),
    ]);
  });

  it("requires tasks numbered from 1 in order", () => {
    const tasks = [{ id: 2, title: "Second first", hints: ["A hint that is long enough."] }];
    expect(problemsOf(writeLab(completeLab(manifest({ tasks }))))).toContainEqual(
      expect.stringMatching(/^lab\.json\|tasks\[0\]\.id\|.*expected 1/),
    );
  });

  it("requires editable files in starter and solution, a grader, and declared mutants", () => {
    const {
      ["solution/src/cache.ts"]: _solution,
      ["grader/cache.test.ts"]: _grader,
      ...rest
    } = completeLab();
    const problems = problemsOf(
      writeLab({ ...rest, "mutants/undeclared.patch": noTtlPatch, "mutants/copy/src/cache.ts": "" }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        "solution/src/cache.ts||file is missing",
        expect.stringMatching(/^grader\|\|no grader test files/),
        "mutants/undeclared.patch||mutant patch is not declared in lab.json mutants",
        expect.stringMatching(/^mutants\/copy\|\|mutants\/ holds only <id>\.patch files/),
      ]),
    );
  });

  it("refuses mutants that patch files the learner cannot edit", () => {
    const patch = noTtlPatch.replaceAll("src/cache.ts", "src/other.ts");
    const problems = problemsOf(writeLab({ ...completeLab(), "mutants/no-ttl.patch": patch }));
    expect(problems).toContain(
      "mutants/no-ttl.patch||patches src/other.ts: mutants may only change files listed in learner.editable",
    );
  });

  it("wants a second solution described in lab.json, with every editable file", () => {
    expect(problemsOf(writeLab({ ...completeLab(), "second-solution/src/cache.ts": "" }))).toEqual([
      "second-solution||there is a second solution, but lab.json has no secondSolution.design describing it",
    ]);
    const described = manifest({ secondSolution: { design: "caches in a Map instead" } });
    expect(problemsOf(writeLab(completeLab(described), "described"))).toEqual([
      "second-solution/src/cache.ts||file is missing",
    ]);
  });

  it("refuses editable paths that escape the workspace", () => {
    const learner = { entry: "src/cache.ts", editable: ["../outside.ts"], exports: [] };
    expect(problemsOf(writeLab(completeLab(manifest({ learner }))))).toContainEqual(
      expect.stringMatching(/^lab\.json\|learner\.editable\[0\]\|/),
    );
  });

  it("wants the lab in its section's folder", () => {
    const problems = problemsOf(writeLab(completeLab(), "demo-lab", "03-databases"));
    expect(problems).toContainEqual(expect.stringMatching(/roadmap\.section\|.*labs\/04-caching/));
  });
});

describe("mutant patches", () => {
  it("apply to their base tree and name the hunk that no longer fits", () => {
    const lab = loadLab(writeLab(completeLab()));
    expect(mutantSubmissionFiles(lab, lab.manifest.mutants[0]!)).toEqual(
      new Map([["src/cache.ts", "export function get() { return 1; }\n"]]),
    );
    writeFileSync(join(lab.dir, "solution/src/cache.ts"), "export function get(): number { return 0; }\n");
    expect(() => mutantSubmissionFiles(lab, lab.manifest.mutants[0]!)).toThrow(
      /mutant no-ttl: hunk 1 of src\/cache\.ts \(@@ -1,1 \+1,1 @@\) no longer applies/,
    );
  });

  it("round-trip: a patch made from two trees turns the first into the second", () => {
    const base = new Map([
      ["src/a.ts", "one\ntwo\nthree\n"],
      ["src/b.ts", "b\n"],
    ]);
    const edited = new Map([
      ["src/a.ts", "one\n2\nthree\n"],
      ["src/b.ts", "b\n"],
    ]);
    const patch = createMutantPatch(base, edited);
    expect(patch).not.toContain("src/b.ts");
    expect(applyMutantPatch(base, patch, "x")).toEqual(edited);
  });

  it("a tree's copy of a fixed file must be the starter's", () => {
    const lab = loadLab(
      writeLab({ ...completeLab(), "starter/src/fixed.ts": "a\n", "solution/src/fixed.ts": "b\n" }),
    );
    expect(() => treeSubmissionFiles(lab, "solution")).toThrow(LabTreeError);
  });
});

describe("discoverLabs", () => {
  it("returns valid labs and reports invalid ones and duplicate ids without throwing", () => {
    const good = writeLab(completeLab());
    writeLab(completeLab(), "copy-of-demo");
    writeLab({ ...completeLab(), "lab.json": "{}" }, "broken");
    const catalog = discoverLabs(dirname(dirname(good)));
    expect(catalog.labs.map((lab) => lab.dir)).toHaveLength(1);
    expect(catalog.invalid).toHaveLength(2);
    expect(catalog.invalid.map((error) => error.message).join("\n")).toMatch(/already used by/);
  });
});

describe("validation records", () => {
  const caught = [{ id: "no-ttl", status: "fail" as const, caughtBy: ["keeps the TTL"] }];

  it("hold while neither the lab nor the grading platform changes", () => {
    const labDir = writeLab(completeLab());
    const lab = loadLab(labDir);
    writeValidationRecord(lab, {
      lab: "demo-lab",
      inputs: validationInputsHash(lab, "p1"),
      fixtures: caught,
    });
    expect(freshValidationRecord(loadLab(labDir), "p1")?.fixtures).toEqual(caught);
    // Its own reports are not inputs: writing a mutation report leaves the record fresh.
    writeFileSync(join(labDir, "mutation-report.json"), "{}");
    expect(freshValidationRecord(loadLab(labDir), "p1")).toBeDefined();

    expect(freshValidationRecord(loadLab(labDir), "p2")).toBeUndefined();
    writeFileSync(join(labDir, "grader/cache.test.ts"), "// sharper\n");
    expect(freshValidationRecord(loadLab(labDir), "p1")).toBeUndefined();
  });

  it("must cover exactly the declared mutants", () => {
    const labDir = writeLab(completeLab());
    const lab = loadLab(labDir);
    const inputs = validationInputsHash(lab, "p1");
    writeValidationRecord(lab, { lab: "demo-lab", inputs, fixtures: [] });
    expect(freshValidationRecord(lab, "p1")).toBeUndefined();
    writeValidationRecord(lab, {
      lab: "demo-lab",
      inputs,
      fixtures: [...caught, { ...caught[0]!, id: "x" }],
    });
    expect(freshValidationRecord(lab, "p1")).toBeUndefined();
  });
});

describe("the README-to-test table", () => {
  const readme =
    "# Demo\n\n## Tasks\n\n1. **Cache.** Entries expire after 300 s. A hit is served from Redis.\n";
  const table = (promises: unknown[]) => JSON.stringify({ promises });

  it("names each test by its full name or by its own title, which may hold ' > '", () => {
    const labDir = writeLab({
      ...completeLab(),
      "README.md": readme,
      "promises.json": table([
        { readme: "Entries expire after 300 s.", tests: ["Task 1: Cache > an entry expires after 300 s"] },
        { readme: "A hit is served from Redis.", tests: ["a hit > a miss in speed"] },
      ]),
    });
    const tests = ["Task 1: Cache > an entry expires after 300 s", "Task 1: Cache > a hit > a miss in speed"];
    expect(promiseTableProblems(loadLab(labDir), tests)).toEqual([]);
  });

  it("wants every task sentence listed and every test under one", () => {
    const labDir = writeLab({
      ...completeLab(),
      "README.md": readme,
      "promises.json": table([{ readme: "Entries expire after 300 s.", tests: ["expires"] }]),
    });
    expect(
      promiseTableProblems(loadLab(labDir), ["Task 1: Cache > expires", "Task 1: Cache > stray"]),
    ).toEqual([
      'README statement not in promises.json: "A hit is served from Redis."',
      'test checks no README statement in promises.json: "Task 1: Cache > stray"',
    ]);
  });
});
