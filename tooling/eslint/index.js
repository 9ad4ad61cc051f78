import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * Shared flat config: type-aware rules for every package.
 * @param {string} tsconfigRootDir the package folder (import.meta.dirname of its eslint.config.js)
 */
export function backendLabsConfig(tsconfigRootDir) {
  return tseslint.config(
    // Build output, and the HTML report and traces a failed Playwright run leaves behind.
    {
      ignores: [
        "dist/**",
        ".next/**",
        "node_modules/**",
        "coverage/**",
        "playwright-report/**",
        "test-results/**",
      ],
    },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
      languageOptions: { parserOptions: { projectService: true, tsconfigRootDir } },
      rules: {
        "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
        "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        "@typescript-eslint/no-floating-promises": "error",
        "@typescript-eslint/only-throw-error": "error",
      },
    },
    {
      files: ["**/*.js"],
      ...tseslint.configs.disableTypeChecked,
    },
  );
}
