import { type GradingContext } from "@backend-labs/graders/grading-context";
import { type Lab, type ServiceName } from "@backend-labs/lab-format";

/** How the graders reach one service of a grade (admin and learner-role URLs, brokers). */
export type GraderAccess<N extends ServiceName> = NonNullable<GradingContext["services"][N]>;

/** One service, made ready for one grade: fresh accounts, seeded data or topics. */
export interface PreparedService<N extends ServiceName = ServiceName> {
  name: N;
  /** Environment given to the learner's process (DATABASE_URL, REDIS_URL, KAFKA_BROKERS). */
  learnerEnv: Record<string, string>;
  access: GraderAccess<N>;
}

/**
 * A running service container (Postgres, Redis, a Kafka broker) that serves one grade at a time. Between
 * grades it is reset, or, when it cannot be reset to a provably clean state, replaced.
 */
export interface ServiceServer<N extends ServiceName = ServiceName> extends AsyncDisposable {
  readonly name: N;
  readonly image: string;
  readonly version: string;
  readonly containerId: string;
  /** False when reset() is not enough to hand it to another grade: the environment replaces it instead. */
  readonly reusable: boolean;
  /** Fresh least-privilege accounts (and the lab's seed or topics) for one grade of `lab`. */
  prepare(lab: Lab): Promise<PreparedService<N>>;
  /** Removes everything the last grade left: its data, accounts, connections and settings. */
  reset(): Promise<void>;
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

/** The lab asks for a version range that the configured image does not run. */
export class ServiceVersionError extends Error {
  constructor(service: ServiceName, image: string, version: string, range: string) {
    super(`The lab needs ${service} ${range}, but image ${image} runs ${version}`);
    this.name = "ServiceVersionError";
  }
}
