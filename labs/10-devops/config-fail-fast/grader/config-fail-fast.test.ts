import { expect, it } from "vitest";
import {
  got,
  gradingContext,
  type HttpReply,
  learner,
  type LearnerInstance,
  LearnerThrewError,
  postgres,
  startLearner,
  task,
  waitFor,
} from "@backend-labs/graders";

interface Config {
  port: number;
  databaseUrl: string;
  dbPoolMax: number;
  logLevel: string;
  requestTimeoutMs: number;
  allowedOrigins: string[];
  signupsEnabled: boolean;
  sessionSecret: string | null;
}

type Env = Record<string, string>;

interface ConfigModule {
  loadConfig(env: Env): Config;
}

const app = learner().module<ConfigModule>();

/** A database password the grader can look for in messages: it must never show up. */
const DB_PASSWORD = "db-Pa55word-4f9c";
const DATABASE_URL = `postgres://shop:${DB_PASSWORD}@db.internal:5432/shop`;
const SESSION_SECRET = "s3ss10n-s3cr3t-0123456789-abcdef-XYZ";
/** The two variables without a default. */
const required: Env = { PORT: "8080", DATABASE_URL };

const defaults: Config = {
  port: 8080,
  databaseUrl: DATABASE_URL,
  dbPoolMax: 10,
  logLevel: "info",
  requestTimeoutMs: 5_000,
  allowedOrigins: [],
  signupsEnabled: false,
  sessionSecret: null,
};

/** EX_CONFIG from sysexits.h. */
const EXIT_CONFIG_ERROR = 78;

/** What loadConfig(env) threw, or undefined (with what it returned) when it returned a configuration. */
async function loadError(
  env: Env,
  returned: { config?: Config } = {},
): Promise<{ name: string; message: string } | undefined> {
  try {
    returned.config = await app.loadConfig(env);
    return undefined;
  } catch (error) {
    if (error instanceof LearnerThrewError) {
      return { name: error.learnerError.name, message: error.learnerError.message };
    }
    throw error;
  }
}

/** The variables of env that differ from `required`: what a message should show of a test environment. */
function describeEnv(env: Env): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(env).filter(([name, value]) => required[name] !== value)),
  );
}

/** Expects loadConfig(env) to throw a ConfigError whose message names `variable`; returns the message. */
async function expectRejected(env: Env, variable: string, why: string): Promise<string> {
  const returned: { config?: Config } = {};
  const error = await loadError(env, returned);
  const shown = describeEnv(env);
  expect(
    error === undefined ? `returned ${JSON.stringify(returned.config)}` : "threw",
    `loadConfig with ${shown} must throw a ConfigError naming ${variable}, but it returned a configuration: ${why}`,
  ).toBe("threw");
  expect(
    error?.name,
    `loadConfig must throw a ConfigError for a bad environment, not ${error?.name}: a TypeError or a NaN ` +
      "deep inside the code is exactly the late, confusing failure that validating up front avoids",
  ).toBe("ConfigError");
  expect(error?.message, `the ConfigError for ${shown} must name the variable ${variable}`).toContain(
    variable,
  );
  return error?.message ?? "";
}

/** The learner's own database password, as the runner gave it in DATABASE_URL. */
function learnerDatabasePassword(): string {
  const url = gradingContext().services.postgres?.learnerUrl;
  return url ? decodeURIComponent(new URL(url).password) : "";
}

async function getJson(instance: LearnerInstance, path: string): Promise<{ status: number; body: unknown }> {
  const response = await instance.fetch(path);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text, the assertion shows it.
  }
  return { status: response.status, body };
}

/**
 * Starts a copy of the service with extra environment and expects it to refuse to start. Returns its exit
 * code and what it printed, as the runner reported them.
 */
async function failedStart(env: Env): Promise<{ started: boolean; exitCode?: number; output: string }> {
  try {
    await startLearner(env);
    return { started: true, output: "" };
  } catch (error) {
    // The runner answers a copy that died while starting with its exit code and the tail of its output.
    const raw = (error as Error).message;
    const json = raw.slice(raw.indexOf("{"));
    let report = raw;
    try {
      report = (JSON.parse(json) as { error?: string }).error ?? raw;
    } catch {
      // Keep the raw message.
    }
    const code = /exited with code (\d+)/.exec(report)?.[1];
    const threw = /threw on import/.test(report);
    return { started: false, exitCode: code ? Number(code) : threw ? 70 : undefined, output: report };
  }
}

/**
 * The second copy of task 4, started once with a good environment full of overrides. Its Postgres sessions
 * carry an application_name (PGAPPNAME, which pg reads when the URL names none) so the grader can find them,
 * and PGOPTIONS makes each of their transactions SERIALIZABLE READ ONLY DEFERRABLE: such a transaction waits
 * for a safe snapshot while a serializable read-write transaction is open. Holding one open (holdDatabase)
 * keeps every SELECT 1 of the copy waiting for as long as the grader needs: a race window opened on purpose.
 */
const TUNED_APP = "config-fail-fast-tuned";
const TUNED_POOL_MAX = 12;
const tunedEnv: Env = {
  DB_POOL_MAX: String(TUNED_POOL_MAX),
  LOG_LEVEL: "debug",
  REQUEST_TIMEOUT_MS: "2500",
  ALLOWED_ORIGINS: "https://shop.example.com",
  SIGNUPS_ENABLED: "true",
  SESSION_SECRET,
  PGAPPNAME: TUNED_APP,
  PGOPTIONS:
    "-c default_transaction_isolation=serializable -c default_transaction_read_only=on " +
    "-c default_transaction_deferrable=on",
};
let tunedCopy: Promise<LearnerInstance> | undefined;
function tuned(): Promise<LearnerInstance> {
  tunedCopy ??= startLearner(tunedEnv);
  return tunedCopy;
}

/** Holds a serializable read-write transaction open: the tuned copy's queries wait until release(). */
async function holdDatabase(): Promise<{ release(): Promise<void> }> {
  const client = await postgres().connect();
  await client.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
  await client.query("SELECT 1");
  return {
    async release() {
      await client.query("ROLLBACK");
      client.release();
    },
  };
}

/** How many of the tuned copy's sessions are running a query that waits on holdDatabase(). */
async function heldQueries(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'SafeSnapshot'",
    [TUNED_APP],
  );
  return rows[0]?.n ?? 0;
}

/** GET /healthz on a copy, never rejecting: a request that failed is status 0 with the reason. */
async function healthz(instance: LearnerInstance): Promise<HttpReply> {
  try {
    const response = await instance.fetch("/healthz", { signal: AbortSignal.timeout(30_000) });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    return { status: 0, text: `the request failed: ${(error as Error).message}` };
  }
}

task(1, "Read a typed configuration with defaults", () => {
  it("with only PORT and DATABASE_URL set, every other setting takes its default", async () => {
    expect(
      await app.loadConfig(required),
      "loadConfig must return the typed configuration: numbers as numbers, defaults for what is not set " +
        "(DB_POOL_MAX 10, LOG_LEVEL info, REQUEST_TIMEOUT_MS 5000, no origins, signups off, no session secret)",
    ).toEqual(defaults);
  });

  it("every variable set is parsed to its type; empty values count as not set", async () => {
    const full: Env = {
      ...required,
      DB_POOL_MAX: "25",
      LOG_LEVEL: "debug",
      REQUEST_TIMEOUT_MS: "1500",
      ALLOWED_ORIGINS: "https://shop.example.com, https://admin.example.com:8443",
      SIGNUPS_ENABLED: "true",
      SESSION_SECRET,
    };
    expect(await app.loadConfig(full), "each variable must be parsed to its type").toEqual({
      ...defaults,
      dbPoolMax: 25,
      logLevel: "debug",
      requestTimeoutMs: 1_500,
      allowedOrigins: ["https://shop.example.com", "https://admin.example.com:8443"],
      signupsEnabled: true,
      sessionSecret: SESSION_SECRET,
    });
    const off = await app.loadConfig({ ...required, SIGNUPS_ENABLED: "false" });
    expect(
      off.signupsEnabled,
      'SIGNUPS_ENABLED="false" must turn signups off: Boolean("false") is true, as is any non-empty string',
    ).toBe(false);
    expect(
      await app.loadConfig({
        ...required,
        DB_POOL_MAX: "",
        LOG_LEVEL: "",
        ALLOWED_ORIGINS: "",
        SESSION_SECRET: "",
      }),
      "an empty value (FOO= in an env file) counts as not set: the defaults apply",
    ).toEqual(defaults);
  });
});

task(2, "Validate every variable and report every problem at once", () => {
  it("integers: rejects words, fractions, trailing garbage and values out of range; accepts the bounds", async () => {
    const digitsOnly =
      "an integer is written with digits only: Number() accepts 1e4, 0x10, +5 and surrounding spaces, and " +
      "parseInt() stops at the first non-digit; test the text against /^[0-9]+$/ before converting it";
    const range = (low: number, high: number) => `the allowed range is ${low} to ${high}, bounds included`;
    const cases: [string, string, string][] = [
      ["PORT", "abc", digitsOnly],
      ["PORT", "80.5", digitsOnly],
      ["PORT", "8080abc", digitsOnly],
      ["PORT", " 8080", digitsOnly],
      ["PORT", "0", range(1, 65_535)],
      ["PORT", "65536", range(1, 65_535)],
      ["DB_POOL_MAX", "ten", digitsOnly],
      ["DB_POOL_MAX", "0", range(1, 50)],
      ["DB_POOL_MAX", "51", range(1, 50)],
      ["DB_POOL_MAX", "-3", digitsOnly],
      ["DB_POOL_MAX", "+5", digitsOnly],
      ["DB_POOL_MAX", "0x10", digitsOnly],
      ["DB_POOL_MAX", "7 ", digitsOnly],
      ["REQUEST_TIMEOUT_MS", "99", range(100, 60_000)],
      ["REQUEST_TIMEOUT_MS", "1e4", digitsOnly],
    ];
    for (const [name, value, why] of cases) {
      await expectRejected({ ...required, [name]: value }, name, why);
    }
    expect(
      await app.loadConfig({ ...required, PORT: "65535", DB_POOL_MAX: "50", REQUEST_TIMEOUT_MS: "60000" }),
      "the upper bounds themselves are valid",
    ).toEqual({ ...defaults, port: 65_535, dbPoolMax: 50, requestTimeoutMs: 60_000 });
    expect(
      await app.loadConfig({ ...required, PORT: "1", DB_POOL_MAX: "1", REQUEST_TIMEOUT_MS: "100" }),
      "the lower bounds themselves are valid",
    ).toEqual({ ...defaults, port: 1, dbPoolMax: 1, requestTimeoutMs: 100 });
  });

  it("enums, booleans, URLs and origin lists: anything outside the allowed values is rejected", async () => {
    const cases: [string, string, string][] = [
      ["LOG_LEVEL", "verbose", "the log levels are debug, info, warn and error"],
      ["SIGNUPS_ENABLED", "yes", "a boolean is true or false"],
      ["SIGNUPS_ENABLED", "1", "a boolean is true or false"],

      ["DATABASE_URL", "not a url", "DATABASE_URL must parse as a URL"],
      ["DATABASE_URL", "mysql://shop:pw@db.internal/shop", "DATABASE_URL must be a postgres:// URL"],
      ["DATABASE_URL", "postgres:///shop", "DATABASE_URL needs a host"],
      ["ALLOWED_ORIGINS", "https://shop.example.com,ftp://files.example.com", "origins are http or https"],
      [
        "ALLOWED_ORIGINS",
        "https://shop.example.com/",
        "an origin has no path, not even a trailing slash: browsers send https://shop.example.com, which would never match",
      ],
      ["ALLOWED_ORIGINS", "shop.example.com", "an origin starts with its scheme"],
    ];
    for (const [name, value, why] of cases) {
      await expectRejected({ ...required, [name]: value }, name, why);
    }
    // With a SESSION_SECRET set, so that only the spelling of the boolean can be the problem.
    await expectRejected(
      { ...required, SESSION_SECRET, SIGNUPS_ENABLED: "TRUE" },
      "SIGNUPS_ENABLED",
      "a boolean is exactly true or false, in lower case: compare the text, do not lower-case it first",
    );
  });

  it("every value the table allows is accepted: each log level, both Postgres schemes, http and https origins", async () => {
    const accepted = async (env: Env, why: string): Promise<Config | undefined> => {
      const returned: { config?: Config } = {};
      const error = await loadError(env, returned);
      expect(
        error === undefined ? "accepted" : `threw ${error.name}: ${error.message}`,
        `loadConfig must accept ${describeEnv(env)}: ${why}`,
      ).toBe("accepted");
      return returned.config;
    };
    for (const level of ["debug", "info", "warn", "error"]) {
      const config = await accepted(
        { ...required, LOG_LEVEL: level },
        "the table allows the log levels debug, info, warn and error",
      );
      expect(config?.logLevel, `LOG_LEVEL=${level} must come back as logLevel "${level}"`).toBe(level);
    }
    const postgresql = `postgresql://shop:${DB_PASSWORD}@db.internal:5432/shop`;
    const withPostgresql = await accepted(
      { ...required, DATABASE_URL: postgresql },
      "the table allows both schemes, postgres: and postgresql:",
    );
    expect(withPostgresql?.databaseUrl, "a postgresql:// DATABASE_URL is returned as it was given").toBe(
      postgresql,
    );
    const withHttp = await accepted(
      { ...required, ALLOWED_ORIGINS: "http://localhost:3000,https://shop.example.com" },
      "origins may be http or https: a local front end runs on http://localhost:3000",
    );
    expect(withHttp?.allowedOrigins, "an http origin and an https origin are both kept, in order").toEqual([
      "http://localhost:3000",
      "https://shop.example.com",
    ]);
  });

  it("SESSION_SECRET needs at least 32 characters, and is required when SIGNUPS_ENABLED is true", async () => {
    await expectRejected(
      { ...required, SESSION_SECRET: "short-secret" },
      "SESSION_SECRET",
      "a session secret shorter than 32 characters can be brute-forced",
    );
    await expectRejected(
      { ...required, SESSION_SECRET: "k".repeat(31) },
      "SESSION_SECRET",
      "31 characters is one short of the 32 the table asks for",
    );
    await expectRejected(
      { ...required, SIGNUPS_ENABLED: "true" },
      "SESSION_SECRET",
      "signups create sessions, so SIGNUPS_ENABLED=true without a SESSION_SECRET is a bad configuration",
    );
    expect(
      (await app.loadConfig({ ...required, SESSION_SECRET })).sessionSecret,
      "a secret of 32 characters or more is accepted",
    ).toBe(SESSION_SECRET);
    const exactly32 = "k".repeat(32);
    const returned: { config?: Config } = {};
    const error = await loadError({ ...required, SESSION_SECRET: exactly32 }, returned);
    expect(
      error?.message ?? "accepted",
      "a SESSION_SECRET of exactly 32 characters is long enough (at least 32): check length < 32, not <= 32",
    ).toBe("accepted");
    expect(returned.config?.sessionSecret, "a 32-character SESSION_SECRET is returned as is").toBe(exactly32);
  });

  it("a bad environment is reported in full: every bad variable is named, the good ones are not", async () => {
    const nothing = await expectRejected({}, "PORT", "PORT and DATABASE_URL are required");
    expect(
      nothing,
      "with nothing set, the one error must name both required variables, PORT and DATABASE_URL: collect " +
        "every problem before throwing, so that one failed deploy tells the operator everything to fix",
    ).toContain("DATABASE_URL");

    const message = await expectRejected(
      { ...required, PORT: "http", DB_POOL_MAX: "0", LOG_LEVEL: "loud", SIGNUPS_ENABLED: "maybe" },
      "PORT",
      "PORT=http is not a port",
    );
    const missing = ["DB_POOL_MAX", "LOG_LEVEL", "SIGNUPS_ENABLED"].filter((name) => !message.includes(name));
    expect(
      missing,
      `PORT, DB_POOL_MAX, LOG_LEVEL and SIGNUPS_ENABLED are all bad, but the error only named some:\n${message}\n` +
        "Check every variable and throw once at the end with all the problems",
    ).toEqual([]);
    expect(
      message.includes("DATABASE_URL") || message.includes("REQUEST_TIMEOUT_MS"),
      `variables that are fine must not be named in the error, or the operator hunts for problems that are not there:\n${message}`,
    ).toBe(false);
  });
});

task(3, "Keep secrets out of errors and out of /config", () => {
  it("no error message contains the database password or the session secret", async () => {
    const leaks: string[] = [];
    const check = async (env: Env, secret: string, variable: string) => {
      const message = await expectRejected(env, variable, `${variable} is invalid`);
      if (message.includes(secret)) leaks.push(`${variable}: ${message}`);
    };
    await check(
      { ...required, DATABASE_URL: `mysql://shop:${DB_PASSWORD}@db.internal:3306/shop` },
      DB_PASSWORD,
      "DATABASE_URL",
    );
    await check(
      { ...required, DATABASE_URL: `postgres://shop:${DB_PASSWORD}@` },
      DB_PASSWORD,
      "DATABASE_URL",
    );
    await check(
      { ...required, SESSION_SECRET: "hunter2-but-longer" },
      "hunter2-but-longer",
      "SESSION_SECRET",
    );
    await check(
      { ...required, LOG_LEVEL: "loud", SESSION_SECRET: "tiny-secret" },
      "tiny-secret",
      "SESSION_SECRET",
    );
    expect(
      leaks,
      "error messages end up in logs that many people and systems can read: say what is wrong with " +
        "DATABASE_URL or SESSION_SECRET (wrong scheme, too short) without printing the value",
    ).toEqual([]);
  });

  it("GET /config shows the effective configuration with the database password and session secret redacted", async () => {
    const { status, body } = await getJson(learner(), "/config");
    expect(status, "GET /config must answer 200").toBe(200);
    const shown = body as Partial<Config>;
    const password = learnerDatabasePassword();
    expect(
      JSON.stringify(body).includes(password),
      "GET /config leaks the database password from DATABASE_URL: replace it with *** (redactConfig)",
    ).toBe(false);
    const url = URL.parse(shown.databaseUrl ?? "");
    expect(
      url?.password,
      `databaseUrl must still be the URL, with *** in place of the password, got ${JSON.stringify(shown.databaseUrl)}`,
    ).toBe("***");
    const runnerUrl = new URL(gradingContext().services.postgres?.learnerUrl ?? "postgres://x@y/z");
    expect(
      [url?.username, url?.pathname],
      "apart from the password, databaseUrl must show the real URL (user and database) so operators can check it",
    ).toEqual([runnerUrl.username, runnerUrl.pathname]);
    expect(shown.sessionSecret, "no SESSION_SECRET was set, so sessionSecret is null").toBe(null);
    expect(
      { ...shown, databaseUrl: undefined, port: undefined },
      "the rest of /config is the effective configuration: the defaults here",
    ).toEqual({ ...defaults, databaseUrl: undefined, port: undefined });
  });

  it("GET /config shows a DATABASE_URL without a password as it is", async () => {
    // No password to hide: adding ":***" would tell the operator that one is set. Nothing here reaches the
    // database, so the copy needs no real host.
    const withoutPassword = "postgres://reader@db.internal:5432/shop";
    let instance: LearnerInstance;
    try {
      instance = await startLearner({ DATABASE_URL: withoutPassword });
    } catch (error) {
      expect.fail(
        `the service must start with DATABASE_URL=${withoutPassword}, a valid URL without a password, but it ` +
          `did not: ${(error as Error).message}`,
      );
    }
    const { status, body } = await getJson(instance, "/config");
    expect(status, `GET /config must answer 200, got ${status} ${JSON.stringify(body)}`).toBe(200);
    expect(
      (body as Partial<Config>).databaseUrl,
      `with DATABASE_URL=${withoutPassword}, which has no password, /config must show the URL as it is: ` +
        "replace the password only when there is one (url.password is empty otherwise)",
    ).toBe(withoutPassword);
  });

  it("the start-up log shows no secret, even at LOG_LEVEL=debug", async () => {
    const printed = await (await tuned()).output();
    const secrets: [string, string][] = [
      [SESSION_SECRET, "<the SESSION_SECRET>"],
      [learnerDatabasePassword(), "<the database password>"],
    ];
    const leaked = secrets.filter(([value]) => value !== "" && printed.includes(value));
    const masked = secrets.reduce((text, [value, label]) => text.replaceAll(value, label), printed);
    expect(
      leaked.map(([, label]) => label),
      "with LOG_LEVEL=debug the service printed a secret: anything that shows the configuration (the " +
        `start-up debug line included) must print redactConfig(config), never config itself:\n${masked}`,
    ).toEqual([]);
  });
});

task(4, "Fail fast at start-up", () => {
  it("a bad environment stops the process before it listens: exit code 78 and one message naming every bad variable, without secrets", async () => {
    const secret = "short-but-secret";
    const { started, exitCode, output } = await failedStart({
      DB_POOL_MAX: "lots",
      LOG_LEVEL: "loud",
      SESSION_SECRET: secret,
    });
    expect(
      started,
      "the service started and listened with DB_POOL_MAX=lots, LOG_LEVEL=loud and a 16-character SESSION_SECRET. " +
        "Validate the whole configuration when the process starts, before opening connections or listening: a " +
        "bad value found on the first request that needs it breaks production long after the deploy looked fine",
    ).toBe(false);
    expect(
      exitCode,
      `the process must exit with code ${EXIT_CONFIG_ERROR} (EX_CONFIG) after printing the problems; the runner ` +
        `reported:\n${output}`,
    ).toBe(EXIT_CONFIG_ERROR);
    const missing = ["DB_POOL_MAX", "LOG_LEVEL", "SESSION_SECRET"].filter((name) => !output.includes(name));
    expect(
      missing,
      `the message printed before exiting must name every bad variable; it printed:\n${output}`,
    ).toEqual([]);
    expect(
      output.includes(secret) || output.includes(learnerDatabasePassword()),
      `the start-up failure printed a secret (the SESSION_SECRET or the database password):\n${output}`,
    ).toBe(false);
    expect(
      /^\s+at /m.test(output),
      `print the ConfigError's message, not a stack trace: the operator needs what to fix, not where the code was:\n${output}`,
    ).toBe(false);
  });

  it("a good environment with overrides starts, and /config and /healthz reflect it", async () => {
    const instance = await tuned();
    const { status, body } = await getJson(instance, "/config");
    expect(status, "GET /config must answer 200").toBe(200);
    const shown = body as Partial<Config>;
    expect(
      {
        dbPoolMax: shown.dbPoolMax,
        logLevel: shown.logLevel,
        requestTimeoutMs: shown.requestTimeoutMs,
        allowedOrigins: shown.allowedOrigins,
        signupsEnabled: shown.signupsEnabled,
      },
      "GET /config must show the configuration the process actually runs with",
    ).toEqual({
      dbPoolMax: TUNED_POOL_MAX,
      logLevel: "debug",
      requestTimeoutMs: 2_500,
      allowedOrigins: ["https://shop.example.com"],
      signupsEnabled: true,
    });
    expect(shown.sessionSecret, 'a SESSION_SECRET that is set is shown as "***"').toBe("***");
    const health = await healthz(instance);
    expect(
      health.status,
      `GET /healthz must reach Postgres with the configured DATABASE_URL and answer 200, ${got(health)}`,
    ).toBe(200);
  });

  it("DB_POOL_MAX sizes the pool: with 12, eleven health checks at once each get a connection", async () => {
    // pg.Pool's default max is 10, so an eleventh connection exists only if DB_POOL_MAX reached the pool.
    const instance = await tuned();
    const checks = 11;
    const answered: HttpReply[] = [];
    const hold = await holdDatabase();
    let held = 0;
    let replies: Promise<HttpReply[]>;
    try {
      replies = Promise.all(
        Array.from({ length: checks }, () =>
          healthz(instance).then((reply) => {
            answered.push(reply);
            return reply;
          }),
        ),
      );
      // Wait until every check holds a connection, or one answered. A pool capped at 10 never gets the
      // eleventh: 3 s without a new one ends the wait (the pool opens its connections all at once, so a
      // correct pool gets its last one within milliseconds of the others).
      let lastChange = Date.now();
      await waitFor(async () => {
        const now = await heldQueries();
        if (now !== held) [held, lastChange] = [now, Date.now()];
        const stalled = held > 0 && Date.now() - lastChange > 3_000;
        return held >= checks || answered.length > 0 || stalled;
      }, 15_000);
      expect(
        answered.map((reply) => got(reply)),
        "GET /healthz answered while the grader was holding its SELECT 1 back: it must run SELECT 1 on the " +
          "pool and answer only once that query has finished",
      ).toEqual([]);
      expect(
        held,
        `with DB_POOL_MAX=${TUNED_POOL_MAX}, ${checks} health checks at once must each get a Postgres ` +
          `connection, but only ${held} did: create the pool with max: config.dbPoolMax (pg.Pool's default is 10)`,
      ).toBe(checks);
    } finally {
      await hold.release();
    }
    const failed = (await replies).filter((reply) => reply.status !== 200);
    expect(
      failed.map((reply) => got(reply)),
      "once SELECT 1 could run, every /healthz must answer 200",
    ).toEqual([]);
  });

  it("GET /healthz answers 503 when SELECT 1 fails", async () => {
    const instance = await tuned();
    const hold = await holdDatabase();
    let reply: HttpReply | undefined;
    let pending: Promise<HttpReply> | undefined;
    try {
      pending = healthz(instance).then((answer) => (reply = answer));
      const queried = await waitFor(async () => reply !== undefined || (await heldQueries()) > 0, 10_000);
      expect(
        reply === undefined ? "no answer yet" : got(reply),
        "GET /healthz answered while the grader was holding its SELECT 1 back: answer 200 only once SELECT 1 " +
          "has succeeded",
      ).toBe("no answer yet");
      expect(queried, "GET /healthz never ran SELECT 1 on the pool within 10 s").toBe(true);
      await postgres().query(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'SafeSnapshot'",
        [TUNED_APP],
      );
      await pending;
    } finally {
      await hold.release();
    }
    const answer = reply ?? (await pending);
    expect(
      answer.status,
      "the grader cancelled the health check's SELECT 1, so the database check failed: GET /healthz must " +
        `answer 503, ${got(answer)}`,
    ).toBe(503);
  });
});
