import { type ServiceName } from "@backend-labs/lab-format";
import { formatRunner, thisRunner } from "./runner-identity.ts";

/** A service container started for one grade, with what graders and the learner's code need to reach it. */
export interface StartedService extends AsyncDisposable {
  name: ServiceName;
  image: string;
  version: string;
  /** Environment given to the learner's process (DATABASE_URL, REDIS_URL, KAFKA_BROKERS). */
  learnerEnv: Record<string, string>;
}

export class ServiceStartError extends Error {
  constructor(service: ServiceName, image: string, cause: unknown, logTail: string) {
    super(
      `The ${service} service (image ${image}) failed to start: ${(cause as Error).message ?? String(cause)}` +
        (logTail ? `\nLast log lines:\n${logTail}` : "\n(it printed no logs)"),
      { cause },
    );
    this.name = "ServiceStartError";
  }
}

export const labelKeys = {
  managed: "dev.backend-labs.managed",
  grade: "dev.backend-labs.grade",
  runner: "dev.backend-labs.runner",
} as const;

/** Labels on everything a grade creates, so leftovers can be found and removed (sweep-leftovers.ts). */
export function gradeLabels(gradeId: string): Record<string, string> {
  return {
    [labelKeys.managed]: "true",
    [labelKeys.grade]: gradeId,
    [labelKeys.runner]: formatRunner(thisRunner),
  };
}
