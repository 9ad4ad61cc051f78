import { backendLabsConfig } from "@backend-labs/eslint-config";

// Mutants are wrong on purpose and starters are unfinished on purpose; the runner type-checks both at grade time.
// A second solution holds only the editable files (the fixed ones come from the starter), so it is checked
// the same way: validate grades it.
export default [
  { ignores: ["*/*/mutants/**", "*/*/starter/**", "*/*/second-solution/**", "*/*/fixtures/**"] },
  ...backendLabsConfig(import.meta.dirname),
];
