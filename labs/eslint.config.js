import { backendLabsConfig } from "@backend-labs/eslint-config";

// Mutants are wrong on purpose and starters are unfinished on purpose; the runner type-checks both at grade time.
export default [
  { ignores: ["*/*/mutants/**", "*/*/starter/**", "*/*/fixtures/**"] },
  ...backendLabsConfig(import.meta.dirname),
];
