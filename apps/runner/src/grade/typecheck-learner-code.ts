import { join, relative } from "node:path";
import { learnerCompilerOptions } from "@backend-labs/lab-format";
import ts from "typescript";

export interface TypeProblem {
  file: string;
  line: number;
  column: number;
  code: number;
  message: string;
}

/** Stage 4: type-checks every .ts file in the workspace; problems are reported as file:line:col. */
export function typecheckLearnerCode(workspaceDir: string): TypeProblem[] {
  const parsed = ts.parseJsonConfigFileContent(
    { compilerOptions: learnerCompilerOptions, include: ["**/*.ts"], exclude: ["node_modules"] },
    ts.sys,
    workspaceDir,
    undefined,
    // Type references (types: ["node"]) resolve from the config file's folder, not the runner's cwd.
    join(workspaceDir, "tsconfig.json"),
  );
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  // A syntax error makes the type checker report knock-on errors elsewhere (names it could not bind, a
  // missing `try`); the learner needs the syntax error alone.
  const syntaxErrors = program.getSyntacticDiagnostics();
  const diagnostics = syntaxErrors.length > 0 ? syntaxErrors : ts.getPreEmitDiagnostics(program);
  const problems: TypeProblem[] = [];
  for (const diagnostic of diagnostics) {
    if (diagnostic.category !== ts.DiagnosticCategory.Error) continue;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    if (!diagnostic.file || diagnostic.start === undefined) {
      problems.push({ file: "(project)", line: 0, column: 0, code: diagnostic.code, message });
      continue;
    }
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    problems.push({
      file: relative(workspaceDir, diagnostic.file.fileName),
      line: line + 1,
      column: character + 1,
      code: diagnostic.code,
      message,
    });
  }
  return problems;
}

export function formatTypeProblems(problems: TypeProblem[]): string {
  const shown = problems
    .slice(0, 20)
    .map((p) => `${p.file}:${p.line}:${p.column} - error TS${p.code}: ${p.message}`);
  if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
  return shown.join("\n");
}
