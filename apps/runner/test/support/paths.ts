import { fileURLToPath } from "node:url";

export const fixtureLabsRoot = fileURLToPath(new URL("../fixtures/labs", import.meta.url));
export const repoLabsRoot = fileURLToPath(new URL("../../../../labs", import.meta.url));
export const labsNodeModules = fileURLToPath(new URL("../fixtures/labs/node_modules", import.meta.url));
export const repoLabsNodeModules = fileURLToPath(new URL("../../../../labs/node_modules", import.meta.url));
export const goldenRoot = fileURLToPath(new URL("../golden", import.meta.url));
export const cliMain = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
export const adversarialRoot = fileURLToPath(new URL("../adversarial", import.meta.url));
