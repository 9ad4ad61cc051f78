/**
 * How learner code is type-checked, in tsconfig form: strict, and only syntax Node can run by stripping
 * types. The runner checks submissions with it and the web editor checks as the learner types, so both
 * report the same problems.
 */
export const learnerCompilerOptions = {
  target: "es2024",
  lib: ["es2024", "esnext.disposable"],
  module: "nodenext",
  moduleResolution: "nodenext",
  types: ["node"],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  verbatimModuleSyntax: true,
  erasableSyntaxOnly: true,
  allowImportingTsExtensions: true,
  isolatedModules: true,
} as const;
