import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { roadmapSections, type RoadmapSection } from "@backend-labs/lab-format";
import { UsageError } from "../usage-error.ts";

/**
 * `labs new <section>/<slug>`: a small lab, complete in every part the format asks for (a second solution,
 * a patch mutant, a promise table), for an instructor to reshape. It validates once `labs mutate` has
 * written its mutation report.
 */
export function scaffoldLab(labsRoot: string, target: string): string {
  const match = /^([^/]+)\/([a-z0-9]+(?:-[a-z0-9]+)*)$/.exec(target);
  if (!match)
    throw new UsageError(`expected <section>/<slug>, e.g. 04-caching/write-through; got "${target}"`);
  const [, sectionArg = "", slug = ""] = match;
  const section = findSection(sectionArg);
  const labDir = join(labsRoot, section.folder, slug);
  if (existsSync(labDir)) throw new UsageError(`${labDir} already exists`);

  const testTitle = "greets Ada with the exact greeting";
  const files: Record<string, string> = {
    "lab.json":
      JSON.stringify(
        {
          $schema: "../../lab.schema.json",
          id: slug,
          title: titleFromSlug(slug),
          summary: "One sentence on what the learner builds and why it matters in production.",
          roadmap: { section: section.number, topics: ["replace with the roadmap topics this lab teaches"] },
          difficulty: "beginner",
          estimatedMinutes: 15,
          services: {},
          learner: { entry: "src/lab.ts", editable: ["src/lab.ts"], exports: ["greet"] },
          tasks: [
            { id: 1, title: "Greet a user by name", hints: ["Template literals make this a one-liner."] },
          ],
          timeLimitSeconds: 60,
          secondSolution: { design: "Concatenates the strings instead of using a template literal" },
          mutants: [
            { id: "missing-punctuation", mistake: "Leaves out the exclamation mark the spec asks for" },
          ],
        },
        null,
        2,
      ) + "\n",
    "README.md": `# ${titleFromSlug(slug)}\n\nWhy this matters, in two or three sentences.\n\n## Tasks\n\n1. **Greet a user by name.** \`greet(name)\` in \`src/lab.ts\` returns \`Hello, <name>!\`.\n`,
    "starter/src/lab.ts": `export function greet(name: string): string {\n  throw new Error(\`not implemented: greet(\${name})\`);\n}\n`,
    "solution/src/lab.ts": "export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}\n",
    "second-solution/src/lab.ts":
      'export function greet(name: string): string {\n  return "Hello, " + name + "!";\n}\n',
    "mutants/missing-punctuation.patch": [
      "--- a/src/lab.ts",
      "+++ b/src/lab.ts",
      "@@ -1,3 +1,3 @@",
      " export function greet(name: string): string {",
      "-  return `Hello, ${name}!`;",
      "+  return `Hello, ${name}`;",
      " }",
      "",
    ].join("\n"),
    "promises.json":
      JSON.stringify(
        {
          promises: [
            { readme: "`greet(name)` in `src/lab.ts` returns `Hello, <name>!`.", tests: [testTitle] },
          ],
        },
        null,
        2,
      ) + "\n",
    "grader/lab.test.ts": `import { expect, it } from "vitest";
import { learner, task } from "@backend-labs/graders";

interface Lab {
  greet(name: string): string;
}

const lab = learner().module<Lab>();

task(1, "Greet a user by name", () => {
  it("${testTitle}", async () => {
    expect(await lab.greet("Ada"), "greet('Ada') should return the exact greeting").toBe("Hello, Ada!");
  });
});
`,
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(labDir, path)), { recursive: true });
    writeFileSync(join(labDir, path), content);
  }
  return labDir;
}

function findSection(arg: string): RoadmapSection {
  const section = roadmapSections.find(
    (candidate) =>
      candidate.folder === arg || String(candidate.number) === arg || candidate.folder.slice(3) === arg,
  );
  if (!section) {
    throw new UsageError(
      `unknown section "${arg}"; use one of: ${roadmapSections.map((s) => s.folder).join(", ")}`,
    );
  }
  return section;
}

function titleFromSlug(slug: string): string {
  return slug
    .split("-")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}
