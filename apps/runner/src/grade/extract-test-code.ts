import { readFileSync } from "node:fs";
import ts from "typescript";

const testFunctionNames = new Set(["it", "test"]);
const parsedFiles = new Map<string, ts.SourceFile>();

/**
 * The body of the test declared at (line, column) of file, as the learner should see it in test_code.
 * Vitest reports where the `it(`/`test(` call starts; we find that call and print its callback's body.
 */
export function extractTestCode(file: string, line: number, column: number): string {
  let source = parsedFiles.get(file);
  if (!source) {
    source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    parsedFiles.set(file, source);
  }
  const position = source.getPositionOfLineAndCharacter(line - 1, Math.max(0, column - 1));
  const call = findTestCall(source, position);
  const callback = call?.arguments.findLast(
    (argument): argument is ts.ArrowFunction | ts.FunctionExpression =>
      ts.isArrowFunction(argument) || ts.isFunctionExpression(argument),
  );
  if (!callback) return "";
  const body = callback.body;
  const text = ts.isBlock(body)
    ? source.text.slice(body.getStart(source) + 1, body.getEnd() - 1)
    : body.getText(source);
  return dedent(text);
}

function findTestCall(source: ts.SourceFile, position: number): ts.CallExpression | undefined {
  let found: ts.CallExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (position < node.getFullStart() || position > node.getEnd()) return;
    if (ts.isCallExpression(node) && isTestCallee(node.expression) && node.getStart(source) <= position)
      found = node;
    node.forEachChild(visit);
  };
  visit(source);
  return found;
}

function isTestCallee(expression: ts.Expression): boolean {
  if (ts.isIdentifier(expression)) return testFunctionNames.has(expression.text);
  if (ts.isPropertyAccessExpression(expression)) return isTestCallee(expression.expression);
  if (ts.isCallExpression(expression)) return isTestCallee(expression.expression);
  return false;
}

function dedent(text: string): string {
  const lines = text
    .replace(/^\s*\n/, "")
    .trimEnd()
    .split("\n");
  const indents = lines.filter((line) => line.trim()).map((line) => /^\s*/.exec(line)?.[0].length ?? 0);
  const common = indents.length ? Math.min(...indents) : 0;
  return lines.map((line) => line.slice(common)).join("\n");
}
