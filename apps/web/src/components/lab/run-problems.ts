/** A place in the learner's code that a Run's error points at: a type error, or a frame of a crash. */
export interface RunProblem {
  path: string;
  line: number;
  column: number;
  message: string;
}

// "src/bank.ts:12:5 - error TS2322: Type 'string' is not assignable to type 'number'."
const typeError = /^(?<path>[\w./-]+\.[cm]?tsx?):(?<line>\d+):(?<column>\d+) - (?<message>error TS\d+: .*)$/;
// "    at transfer (/workspace/src/bank.ts:40:11)" or "    at /workspace/src/bank.ts:40:11"
const stackFrame = /\/workspace\/(?<path>[\w./-]+\.[cm]?tsx?):(?<line>\d+):(?<column>\d+)/;

/**
 * The places a Run's error message names in the learner's own files (`editable`): each type error, or for a
 * crash, the first stack frame in their code, with the error's first line as its message.
 */
export function runProblems(message: string | undefined, editable: readonly string[]): RunProblem[] {
  if (!message) return [];
  const lines = message.split("\n");
  const problems = lines.flatMap((line) => {
    const found = typeError.exec(line.trim())?.groups;
    return found ? [toProblem(found, found.message!)] : [];
  });
  if (problems.length > 0) return problems.filter((problem) => editable.includes(problem.path));
  const frame = lines
    .map((line) => stackFrame.exec(line)?.groups)
    .find((groups) => groups !== undefined && editable.includes(groups.path!));
  const headline =
    lines.find((line) => line.trim() && !line.includes("/workspace/"))?.trim() ?? "crashed here";
  return frame ? [toProblem(frame, headline)] : [];
}

function toProblem(groups: Record<string, string | undefined>, message: string): RunProblem {
  return { path: groups.path!, line: Number(groups.line), column: Number(groups.column), message };
}
