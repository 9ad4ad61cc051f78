// Loaded by the runner into every grader test file: attaches what the learner's code printed during
// each test to that test's result, and closes the graders' clients and extra learner copies afterwards.
import { afterAll, afterEach, beforeEach } from "vitest";
import { controlApi } from "./control-client.ts";
import { stopStartedLearners } from "./learner.ts";
import { closeServiceClients } from "./service-clients.ts";

let cursor = 0;

beforeEach(async () => {
  cursor = (await controlApi.output(Number.MAX_SAFE_INTEGER)).cursor;
});

afterEach(async ({ task }) => {
  const { text } = await controlApi.output(cursor, undefined, true);
  if (text) task.meta.learnerOutput = text;
});

afterAll(async () => {
  await Promise.all([stopStartedLearners(), closeServiceClients()]);
});
