// Loaded by the runner into every grader test file: attaches what the learner's code printed during
// each test to that test's result (and, for mutation testing, which mutants its code reached), and closes
// the graders' clients and extra learner copies afterwards.
import { afterAll, afterEach, beforeEach } from "vitest";
import { controlApi } from "./control-client.ts";
import { stopStartedLearners } from "./learner.ts";
import { gradingContext } from "./grading-context.ts";
import { closeServiceClients } from "./service-clients.ts";

let cursor = 0;

beforeEach(async ({ task }) => {
  cursor = (await controlApi.output(Number.MAX_SAFE_INTEGER)).cursor;
  if (gradingContext().collectMutantCoverage)
    task.meta.mutantsCoveredBefore = await controlApi.mutantCoverage();
});

afterEach(async ({ task }) => {
  const { text } = await controlApi.output(cursor, undefined, true);
  if (text) task.meta.learnerOutput = text;
  if (gradingContext().collectMutantCoverage) task.meta.mutantsCovered = await controlApi.mutantCoverage();
});

afterAll(async () => {
  await Promise.all([stopStartedLearners(), closeServiceClients()]);
});
