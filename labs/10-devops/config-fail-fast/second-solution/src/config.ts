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

// Design: the README's table written down as data. Each row says which variable feeds which field, what
// to use when it is unset, and how to turn its text into a value. A parser never throws: it returns the
// value or a description of what is wrong, phrased without the text when the variable is a secret.

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

type Parser<T> = (text: string) => Parsed<T>;

interface Rule<K extends keyof Config> {
  variable: string;
  field: K;
  /** undefined: the variable is required. */
  fallback: Config[K] | undefined;
  parse: Parser<Config[K]>;
}

const show = (text: string): string => JSON.stringify(text);

function integer(min: number, max: number): Parser<number> {
  return (text) => {
    if (!/^[0-9]+$/.test(text))
      return bad(`must be a whole number written with digits only, got ${show(text)}`);
    const value = Number(text);
    if (value < min || value > max) return bad(`must be between ${min} and ${max}, got ${text}`);
    return ok(value);
  };
}

function postgresUrl(text: string): Parsed<string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad("is not a valid URL (value hidden: it holds a password)");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    return bad("must use the postgres: or postgresql: scheme (value hidden: it holds a password)");
  }
  if (url.hostname === "") return bad("must name a host (value hidden: it holds a password)");
  return ok(text);
}

function oneOf<T extends string>(choices: readonly T[]): Parser<T> {
  return (text) =>
    (choices as readonly string[]).includes(text)
      ? ok(text as T)
      : bad(`must be one of ${choices.join(", ")}, got ${show(text)}`);
}

// scheme://host[:port], exactly as a browser sends it in the Origin header: no path, no trailing slash,
// no credentials, query or fragment.
const originPattern =
  /^https?:\/\/(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?$/;

function origins(text: string): Parsed<string[]> {
  const items = text.split(",").map((item) => item.trim());
  const wrong = items.filter((item) => {
    const match = originPattern.exec(item);
    if (match === null) return true;
    const port = match[1];
    return port !== undefined && (Number(port) < 1 || Number(port) > 65535);
  });
  if (wrong.length > 0) {
    return bad(
      `must be a comma-separated list of http(s) origins like https://shop.example.com (no path), but ${wrong
        .map(show)
        .join(", ")} ${wrong.length === 1 ? "is not one" : "are not"}`,
    );
  }
  return ok(items);
}

function flag(text: string): Parsed<boolean> {
  if (text === "true") return ok(true);
  if (text === "false") return ok(false);
  return bad(`must be exactly true or false, got ${show(text)}`);
}

function secret(text: string): Parsed<string | null> {
  if (text.length < 32)
    return bad(`must be at least 32 characters long, but has ${text.length} (value hidden)`);
  return ok(text);
}

const rules: { [K in keyof Config]: Rule<K> } = {
  port: { variable: "PORT", field: "port", fallback: undefined, parse: integer(1, 65535) },
  databaseUrl: { variable: "DATABASE_URL", field: "databaseUrl", fallback: undefined, parse: postgresUrl },
  dbPoolMax: { variable: "DB_POOL_MAX", field: "dbPoolMax", fallback: 10, parse: integer(1, 50) },
  logLevel: { variable: "LOG_LEVEL", field: "logLevel", fallback: "info", parse: oneOf(logLevels) },
  requestTimeoutMs: {
    variable: "REQUEST_TIMEOUT_MS",
    field: "requestTimeoutMs",
    fallback: 5000,
    parse: integer(100, 60000),
  },
  allowedOrigins: { variable: "ALLOWED_ORIGINS", field: "allowedOrigins", fallback: [], parse: origins },
  signupsEnabled: { variable: "SIGNUPS_ENABLED", field: "signupsEnabled", fallback: false, parse: flag },
  sessionSecret: { variable: "SESSION_SECRET", field: "sessionSecret", fallback: null, parse: secret },
};

function apply<K extends keyof Config>(
  rule: Rule<K>,
  env: Env,
  into: Partial<Config>,
  problems: string[],
): void {
  const text = env[rule.variable];
  if (text === undefined || text === "") {
    if (rule.fallback === undefined) problems.push(`${rule.variable} is required but not set`);
    else into[rule.field] = rule.fallback;
    return;
  }
  const parsed = rule.parse(text);
  if (parsed.ok) into[rule.field] = parsed.value;
  else problems.push(`${rule.variable} ${parsed.problem}`);
}

/**
 * Reads every variable of the README's table from `env` and returns the typed configuration, or throws
 * one ConfigError listing every problem.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const partial: Partial<Config> = {};
  for (const field of Object.keys(rules) as (keyof Config)[]) apply(rules[field], env, partial, problems);

  // The one rule that spans two variables. Blame only the missing secret: the flag itself is fine.
  const secretSet = env.SESSION_SECRET !== undefined && env.SESSION_SECRET !== "";
  if (partial.signupsEnabled === true && !secretSet) {
    problems.push("SESSION_SECRET is required while signups are enabled, but not set");
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return partial as Config;
}

// Everything between "scheme://user:" and the last "@" of the authority is the password.
const passwordInUrl = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/?#@]*:)[^/?#]*@/;

/** The configuration as it may be shown (GET /config, start-up logs): secrets replaced by "***". */
export function redactConfig(config: Config): Config {
  return {
    ...config,
    databaseUrl: config.databaseUrl.replace(passwordInUrl, "$1***@"),
    sessionSecret: config.sessionSecret === null ? null : "***",
  };
}
