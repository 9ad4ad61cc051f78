import { dirname, join, relative } from "node:path";
import { learnerCompilerOptions } from "@backend-labs/lab-format";
import ts from "typescript";

export interface TypeProblem {
  file: string;
  line: number;
  column: number;
  code: number;
  message: string;
}

/** A workspace to check: its files by path relative to the workspace, held in memory. */
export interface WorkspaceSource {
  /** node_modules of the labs package: the libraries learner code may import. */
  labsNodeModules: string;
  /** Names the workspace, so checks of the same lab can reuse each other's work. */
  name: string;
  files: ReadonlyMap<string, string>;
}

const options = ts.convertCompilerOptionsFromJson(learnerCompilerOptions, "/").options;

/**
 * Stage 4: type-checks a workspace's .ts files (strict, erasable syntax only); problems come back as
 * file:line:col. Keeps what never changes between grades: the parsed declaration files of Node and the
 * libraries (the bulk of the work), and the last program per workspace name, whose module resolutions the
 * next check reuses for every file that did not change.
 */
export class LearnerTypechecker {
  private readonly libraryFiles = new Map<string, ts.SourceFile>();
  private readonly lastPrograms = new Map<string, ts.Program>();
  private readonly keepPrograms: number;

  constructor(keepPrograms = 6) {
    this.keepPrograms = keepPrograms;
  }

  check(source: WorkspaceSource): TypeProblem[] {
    // The files live in memory below a folder of the labs package, so bare imports find its node_modules
    // as they would from a workspace on disk.
    const root = join(dirname(source.labsNodeModules), ".workspaces", source.name);
    const inMemory = new Map<string, string>([[join(root, "package.json"), '{ "type": "module" }']]);
    for (const [path, text] of source.files) inMemory.set(join(root, path), text);
    const rootNames = [...source.files.keys()]
      .filter((path) => path.endsWith(".ts"))
      .map((path) => join(root, path));

    const host = ts.createCompilerHost(options, true);
    host.getCurrentDirectory = () => root;
    host.fileExists = (file) => inMemory.has(file) || ts.sys.fileExists(file);
    host.readFile = (file) => inMemory.get(file) ?? ts.sys.readFile(file);
    host.directoryExists = (dir) =>
      dir === root ||
      [...inMemory.keys()].some((file) => file.startsWith(`${dir}/`)) ||
      ts.sys.directoryExists(dir);
    host.getSourceFile = (file, languageVersion) => {
      const text = inMemory.get(file);
      if (text !== undefined) return ts.createSourceFile(file, text, languageVersion, true);
      let cached = this.libraryFiles.get(file);
      if (!cached) {
        const libraryText = ts.sys.readFile(file);
        if (libraryText === undefined) return undefined;
        cached = ts.createSourceFile(file, libraryText, languageVersion, true);
        this.libraryFiles.set(file, cached);
      }
      return cached;
    };

    const program = ts.createProgram({
      rootNames,
      options,
      host,
      oldProgram: this.lastPrograms.get(source.name),
    });
    this.remember(source.name, program);
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
        file: relative(root, diagnostic.file.fileName),
        line: line + 1,
        column: character + 1,
        code: diagnostic.code,
        message,
      });
    }
    return problems;
  }

  private remember(name: string, program: ts.Program): void {
    this.lastPrograms.delete(name);
    this.lastPrograms.set(name, program);
    for (const oldest of this.lastPrograms.keys()) {
      if (this.lastPrograms.size <= this.keepPrograms) break;
      this.lastPrograms.delete(oldest);
    }
  }
}

export function formatTypeProblems(problems: TypeProblem[]): string {
  const shown = problems
    .slice(0, 20)
    .map((p) => `${p.file}:${p.line}:${p.column} - error TS${p.code}: ${p.message}`);
  if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
  return shown.join("\n");
}
