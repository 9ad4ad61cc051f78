import { fileURLToPath } from "node:url";
import { hashInputs } from "@backend-labs/lab-format";
import { lockedDependencyClosure } from "./locked-dependencies.ts";

/**
 * What, besides a lab's own files, decides how its submissions grade: the runner, the packages it grades
 * with, the service and sandbox images, the labs' shared configuration and the locked version of every
 * library the runner and the labs install. A change to any of them makes every lab's validation record
 * stale; a library only the web app uses does not.
 */
const gradingPlatformPaths = [
  "apps/runner/src",
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
