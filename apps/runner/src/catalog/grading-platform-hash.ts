import { fileURLToPath } from "node:url";
import { hashInputs } from "@backend-labs/lab-format";
import { lockedDependencyClosure } from "./locked-dependencies.ts";

/**
 * The runner's folders a grade runs through: preparing the host, the environment and services, the sandbox,
 * type-checking, the grader suites and the result. Nothing in them imports the rest of the runner (the CLI,
 * the worker, reports, batches, learner folders, mutation runs), which grading-platform-hash.test.ts keeps
 * true, so changing those parts leaves every validation record fresh.
 */
export const runnerGradingFolders = [
  "catalog",
  "environments",
  "grade",
  "host",
  "sandbox",
  "services",
  "suites",
  "typecheck",
].map((folder) => `apps/runner/src/${folder}`);

/**
 * What, besides a lab's own files, decides how its submissions grade: the runner's grading path, the command
 * that judges a validation, the packages it grades with, the service and sandbox images, the labs' shared
 * configuration and the locked version of every library the runner and the labs install. A change to any
 * of them makes every lab's validation record stale; a library only the web app uses does not.
 */
const gradingPlatformPaths = [
  ...runnerGradingFolders,
  "apps/runner/src/cli/commands/validate-command.ts",
  "packages/graders/src",
  "packages/grade-result/src",
  "packages/lab-format/src",
  "packages/service-containers/src",
  "infra/images",
  "labs/package.json",
  "labs/tsconfig.json",
];
const gradingWorkspaces = ["apps/runner", "labs"];

let cached: string | undefined;

export function gradingPlatformHash(): string {
  const root = fileURLToPath(new URL("../../../../", import.meta.url));
  cached ??= hashInputs(
    root,
    gradingPlatformPaths,
    lockedDependencyClosure(root, gradingWorkspaces).join("\n"),
  );
  return cached;
}
