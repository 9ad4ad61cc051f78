import { type Logger } from "@stryker-mutator/api/logging";
import { disableTypeChecks, Instrumenter } from "@stryker-mutator/instrumenter";

/** Names the mutation engine in reports, so a report made by another engine or version counts as stale. */
export const mutationEngine = "@stryker-mutator/instrumenter 10.1.1, backend-labs mutate 1";

/** One mutant of the solution: a small change StrykerJS's mutators make, where they make it. */
export interface GeneratedMutant {
  /** The instrumenter's id; the instrumented solution's coverage is reported by it. */
  id: string;
  file: string;
  /** 1-based, for people. */
  line: number;
  column: number;
  mutator: string;
  /** The code it replaces, whitespace collapsed, at most 120 characters (matches lab.json's equivalents). */
  original: string;
  replacement: string;
  /** Offsets of the replaced code in the file. */
  start: number;
  end: number;
  /** Set by a `// Stryker disable ... : <reason>` comment in the solution. */
  excludedBecause?: string;
}

export interface GeneratedMutants {
  mutants: GeneratedMutant[];
  /** The same files with every mutant built in behind a switch (mutant schemata), and type checks off. */
  instrumented: Map<string, string>;
}

// The instrumenter logs through Stryker's logger; here it has nothing to say that the report does not.
const quietLogger: Logger = {
  isTraceEnabled: () => false,
  isDebugEnabled: () => false,
  isInfoEnabled: () => false,
  isWarnEnabled: () => false,
  isErrorEnabled: () => false,
  isFatalEnabled: () => false,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  fatal: () => undefined,
};

/** Every mutant StrykerJS's mutators make of these files (TypeScript, by path), with no mutator left out. */
export async function generateMutants(files: ReadonlyMap<string, string>): Promise<GeneratedMutants> {
  const sources = [...files].filter(([path]) => path.endsWith(".ts"));
  const result = await new Instrumenter(quietLogger).instrument(
    sources.map(([name, content]) => ({ name, content, mutate: true })),
    { plugins: null, excludedMutations: [], ignorers: [] },
  );
  const mutants = result.mutants.map((mutant): GeneratedMutant => {
    const text = files.get(mutant.fileName) ?? "";
    const start = offsetOf(text, mutant.location.start);
    const end = offsetOf(text, mutant.location.end);
    return {
      id: mutant.id,
      file: mutant.fileName,
      line: mutant.location.start.line + 1,
      column: mutant.location.start.column + 1,
      mutator: mutant.mutatorName,
      original: collapse(text.slice(start, end)),
      replacement: mutant.replacement,
      start,
      end,
      ...(mutant.status === "Ignored" && { excludedBecause: mutant.statusReason ?? "(no reason given)" }),
    };
  });
  const instrumented = new Map(files);
  for (const file of result.files) {
    instrumented.set(file.name, (await disableTypeChecks(file, { plugins: null })).content);
  }
  return { mutants, instrumented };
}

/** The solution's files with one mutant applied: what a learner making that mistake would submit. */
export function applyMutant(
  files: ReadonlyMap<string, string>,
  mutant: GeneratedMutant,
): Map<string, string> {
  const text = files.get(mutant.file) ?? "";
  return new Map(files).set(
    mutant.file,
    text.slice(0, mutant.start) + mutant.replacement + text.slice(mutant.end),
  );
}

/** What identifies a mutant across edits of the solution: where it is by content, not by line. */
export function collapse(code: string): string {
  return code.replace(/\s+/g, " ").trim().slice(0, 120);
}

/** Stryker positions count lines and columns from 0. */
function offsetOf(text: string, position: { line: number; column: number }): number {
  let offset = 0;
  for (let line = 0; line < position.line; line++) offset = text.indexOf("\n", offset) + 1;
  return offset + position.column;
}
