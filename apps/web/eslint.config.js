import { backendLabsConfig } from "@backend-labs/eslint-config";

export default [
  ...backendLabsConfig(import.meta.dirname),
  {
    // `import { type X } from "pkg"` keeps `import "pkg"` under verbatimModuleSyntax, which put a whole
    // package (grade-result, with zod) into the lab page's JavaScript for one type.
    rules: { "@typescript-eslint/no-import-type-side-effects": "error" },
  },
];
