import { fileURLToPath } from "node:url";
import { hashInputs } from "@backend-labs/lab-format";

/**
 * What, besides a lab's own files, decides how its submissions grade: the runner, the packages it grades
 * with, the service and sandbox images, the labs' shared configuration and every locked library version.
 * A change to any of them makes every lab's validation record stale.
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
  "pnpm-lock.yaml",
];

let cached: string | undefined;

export function gradingPlatformHash(): string {
  cached ??= hashInputs(fileURLToPath(new URL("../../../../", import.meta.url)), gradingPlatformPaths);
  return cached;
}
