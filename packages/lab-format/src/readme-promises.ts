import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { type Lab, labFiles } from "./load-lab.ts";

/**
 * promises.json: the lab's table from README statements to the grader tests that check them. Every
 * statement of the README's "## Tasks" section, and every sentence elsewhere that says "must" or "never",
 * has an entry: the tests that exercise it, or (for a sentence that promises nothing, such as a hint) why.
 * Every grader test appears under at least one statement: a test that checks no promise would fail
 * learners for something the README never asked.
 */
export const promisesSchema = z
  .object({
    $schema: z.string().optional(),
    promises: z.array(
      z.union([
        z.object({ readme: z.string().min(1), tests: z.array(z.string().min(1)).min(1) }).strict(),
        z
          .object({
            readme: z.string().min(1),
            explains: z.string().min(10).describe("Why this sentence promises nothing a test could check"),
          })
          .strict(),
      ]),
    ),
  })
  .strict();
export type PromiseTable = z.infer<typeof promisesSchema>;

const normative = /\b(must|never)\b/i;
const abbreviations = /(?:\b(?:e\.g|i\.e|etc|vs|cf)|\.\.)\.$/i;

/** The README's sentences, each with whether it states a requirement (see promisesSchema). */
export function readmeSentences(readme: string): { text: string; requirement: boolean }[] {
  const lines = readme
    .replace(/```[\s\S]*?```/g, "")
    .replace(/<!--[\s\S]*?-->/g, "")
    .split("\n");
  const sentences: { text: string; requirement: boolean }[] = [];
  let inTasks = false;
  let block: string[] = [];
  const flush = () => {
    const text = block.join(" ").replace(/\*\*/g, "").replace(/\s+/g, " ").trim();
    block = [];
    for (const sentence of splitSentences(text))
      sentences.push({ text: sentence, requirement: inTasks || normative.test(sentence) });
  };
  for (const line of lines) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      if (heading[1]!.length <= 2) inTasks = /^tasks\b/i.test(heading[2]!.trim());
      continue;
    }
    if (/^\s*\|/.test(line) || line.trim() === "") {
      flush();
      continue;
    }
    const item = /^\s*(?:\d+\.|[-*])\s+(.*)$/.exec(line);
    if (item) {
      flush();
      // A task's bold lead ("**Refill over time.**") is its title, not a statement of its own.
      block.push(item[1]!.replace(/^\*\*[^*]+\*\*\s*/, ""));
    } else block.push(line.trim());
  }
  flush();
  return sentences;
}

function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (const boundary of text.matchAll(/[.!?](?=\s+[A-Z0-9`"(_*])/g)) {
    const end = boundary.index + 1;
    if (abbreviations.test(text.slice(Math.max(0, end - 6), end))) continue;
    sentences.push(text.slice(start, end).trim());
    start = end;
  }
  const rest = text.slice(start).trim();
  if (rest) sentences.push(rest);
  return sentences.filter((sentence) => sentence.length > 0);
}

export function readPromiseTable(lab: Lab): PromiseTable | undefined {
  const path = join(lab.dir, labFiles.promises);
  if (!existsSync(path)) return undefined;
  return promisesSchema.parse(JSON.parse(readFileSync(path, "utf8")));
}

/**
 * What is missing from the lab's README ↔ test table, given the names of its grader's tests (as a grade
 * reports them: "Task n: title > test"). A test is named by its full name or by its own title.
 */
export function promiseTableProblems(lab: Lab, testNames: string[]): string[] {
  let table: PromiseTable | undefined;
  try {
    table = readPromiseTable(lab);
  } catch (error) {
    return [`${labFiles.promises}: ${(error as Error).message}`];
  }
  if (!table)
    return [`${labFiles.promises} is missing: map each README statement to the tests that check it`];
  const sentences = readmeSentences(readFileSync(join(lab.dir, labFiles.instructions), "utf8"));
  const listed = new Set(table.promises.map((promise) => promise.readme));
  const problems: string[] = [];
  for (const sentence of sentences.filter(
    (candidate) => candidate.requirement && !listed.has(candidate.text),
  ))
    problems.push(`README statement not in ${labFiles.promises}: "${sentence.text}"`);
  const known = new Set(sentences.map((sentence) => sentence.text));
  const tested = new Set<string>();
  for (const promise of table.promises) {
    if (!known.has(promise.readme))
      problems.push(`${labFiles.promises} quotes a sentence the README does not have: "${promise.readme}"`);
    if (!("tests" in promise)) continue;
    for (const test of promise.tests) {
      // A test is named in full ("Task n: title > test") or by its own title, which may hold " > " itself.
      const matches = testNames.filter((name) => name === test || name.endsWith(` > ${test}`));
      if (matches.length === 0)
        problems.push(`${labFiles.promises} names a test the grader does not have: "${test}"`);
      for (const name of matches) tested.add(name);
    }
  }
  for (const name of testNames.filter((candidate) => !tested.has(candidate)))
    problems.push(`test checks no README statement in ${labFiles.promises}: "${name}"`);
  return problems;
}
