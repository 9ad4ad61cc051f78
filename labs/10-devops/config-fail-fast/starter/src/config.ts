export const logLevels = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof logLevels)[number];

/** The service's whole configuration, read once from the environment at start-up. */
export interface Config {
  port: number;
  databaseUrl: string;
  dbPoolMax: number;
  logLevel: LogLevel;
  requestTimeoutMs: number;
  allowedOrigins: string[];
  signupsEnabled: boolean;
  sessionSecret: string | null;
}

export type Env = Record<string, string | undefined>;

/** Every problem with the environment, one line each. Never carries a secret's value. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * Reads every variable of the README's table from `env` and returns the typed configuration, or throws
 * one ConfigError listing every problem.
 */
export function loadConfig(env: Env): Config {
  // TODO 1: defaults, types, and empty values treated as unset.
  // TODO 2: validate every variable and collect all problems before throwing a ConfigError.
  // TODO 3: never put the value of DATABASE_URL or SESSION_SECRET in a message.
  return {
    port: Number(env.PORT),
    databaseUrl: env.DATABASE_URL ?? "",
    dbPoolMax: Number(env.DB_POOL_MAX),
    logLevel: (env.LOG_LEVEL ?? "info") as LogLevel,
    requestTimeoutMs: Number(env.REQUEST_TIMEOUT_MS),
    allowedOrigins: (env.ALLOWED_ORIGINS ?? "").split(","),
    signupsEnabled: Boolean(env.SIGNUPS_ENABLED),
    sessionSecret: env.SESSION_SECRET ?? null,
  };
}

/** The configuration as it may be shown (GET /config, start-up logs): secrets replaced by "***". */
export function redactConfig(config: Config): Config {
  // TODO 3: hide the password inside databaseUrl and the session secret.
  return config;
}
