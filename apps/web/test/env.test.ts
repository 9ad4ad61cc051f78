import { join } from "node:path";
import { expect, it } from "vitest";
import { InvalidEnvironmentError, parseServerEnv } from "../src/server/env.ts";
import { labsDir } from "./support/router-harness.ts";

it("names every bad variable at once", () => {
  expect(() =>
    parseServerEnv({
      DATABASE_URL: "mysql://x",
      BACKEND_LABS_RUNS_PER_MINUTE: "lots",
      BACKEND_LABS_LABS_DIR: labsDir,
    }),
  ).toThrow(InvalidEnvironmentError);
  expect(() => parseServerEnv({ BACKEND_LABS_RUNS_PER_MINUTE: "0", BACKEND_LABS_LABS_DIR: labsDir })).toThrow(
    /DATABASE_URL: is not set[\s\S]*BACKEND_LABS_RUNS_PER_MINUTE/,
  );
});

it("fills in defaults and finds the labs and migrations folders", () => {
  const env = parseServerEnv({ DATABASE_URL: "postgres://localhost/x", BACKEND_LABS_LABS_DIR: labsDir });
  expect(env).toMatchObject({ BACKEND_LABS_RUNS_PER_MINUTE: 6, BACKEND_LABS_RUNS_IN_FLIGHT: 2, labsDir });
  expect(env.migrationsDir).toBe(join(labsDir, "..", "packages/db/prisma/migrations"));
});

it("refuses a labs folder that does not exist", () => {
  expect(() =>
    parseServerEnv({ DATABASE_URL: "postgres://localhost/x", BACKEND_LABS_LABS_DIR: "/nope" }),
  ).toThrow(/no labs folder at \/nope/);
});

it("refuses a migrations folder that does not exist", () => {
  expect(() =>
    parseServerEnv({
      DATABASE_URL: "postgres://localhost/x",
      BACKEND_LABS_LABS_DIR: labsDir,
      BACKEND_LABS_MIGRATIONS_DIR: "/nope",
    }),
  ).toThrow(/BACKEND_LABS_MIGRATIONS_DIR: no migrations folder at \/nope/);
});
