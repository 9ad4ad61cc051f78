import { formatRunner, thisRunner } from "../host/runner-identity.ts";

export const labelKeys = {
  managed: "dev.backend-labs.managed",
  /** The grade environment (network, services, learner containers) a resource belongs to. */
  environment: "dev.backend-labs.environment",
  runner: "dev.backend-labs.runner",
} as const;

/**
 * Labels on everything a grade environment creates, so its resources can be found and removed together,
 * and a later runner can sweep what this one left if it dies (sweep-leftovers.ts).
 */
export function environmentLabels(environmentId: string): Record<string, string> {
  return {
    [labelKeys.managed]: "true",
    [labelKeys.environment]: environmentId,
    [labelKeys.runner]: formatRunner(thisRunner),
  };
}
