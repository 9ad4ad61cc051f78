import { describe, expect, it } from "vitest";
import { configureTestcontainers } from "../src/index.ts";

describe("configureTestcontainers", () => {
  it("turns Ryuk off and maps ports on localhost for a local engine", () => {
    const env: NodeJS.ProcessEnv = {};
    configureTestcontainers(env);
    expect(env).toEqual({ TESTCONTAINERS_RYUK_DISABLED: "true", TESTCONTAINERS_HOST_OVERRIDE: "localhost" });
  });

  it("leaves a remote engine's host alone, and explicit settings win", () => {
    const env: NodeJS.ProcessEnv = {
      DOCKER_HOST: "tcp://docker.example:2376",
      TESTCONTAINERS_RYUK_DISABLED: "false",
    };
    configureTestcontainers(env);
    expect(env).toEqual({ DOCKER_HOST: "tcp://docker.example:2376", TESTCONTAINERS_RYUK_DISABLED: "false" });
  });
});
