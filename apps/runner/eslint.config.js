import { backendLabsConfig } from "@backend-labs/eslint-config";

export default [
  { ignores: ["test/fixtures/**", "test/golden/**"] },
  ...backendLabsConfig(import.meta.dirname),
];
