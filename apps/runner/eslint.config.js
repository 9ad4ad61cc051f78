import { backendLabsConfig } from "@backend-labs/eslint-config";

export default [
  // Fixture labs, golden and adversarial submissions are learner code (some hostile or broken on purpose).
  { ignores: ["test/fixtures/**", "test/golden/**", "test/adversarial/**"] },
  ...backendLabsConfig(import.meta.dirname),
];
