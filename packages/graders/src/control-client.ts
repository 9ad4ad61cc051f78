import {
  controlRoutes,
  type HungReport,
  type LearnerStatus,
  type OutputResponse,
  type StartLearnerRequest,
  type StartLearnerResponse,
  type StopLearnerRequest,
} from "./control-protocol.ts";
import { gradingContext } from "./grading-context.ts";

/** Talks to the runner's control API (see control-protocol.ts). */
export async function control<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const { url, token } = gradingContext().control;
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`runner control ${method} ${path} failed (${response.status}): ${text}`);
  return JSON.parse(text) as T;
}

export const controlApi = {
  start: (request: StartLearnerRequest) =>
    control<StartLearnerResponse>("POST", controlRoutes.learners, request),
  stop: (id: string, request: StopLearnerRequest) =>
    control<LearnerStatus>("POST", controlRoutes.stop(id), request),
  status: (id: string) => control<LearnerStatus>("GET", controlRoutes.learner(id)),
  reportHung: (id: string, report: HungReport) =>
    control<LearnerStatus>("POST", controlRoutes.hung(id), report),
  /** Ids of the instrumented solution's mutants whose code ran since the last call (`labs mutate`). */
  mutantCoverage: () => control<string[]>("GET", controlRoutes.mutantCoverage),
  /** settle: first wait until the runner has all the output the copies wrote (it trails a call's reply). */
  output: (since: number, learnerId?: string, settle = false) =>
    control<OutputResponse>(
      "GET",
      `${controlRoutes.output}?since=${since}${learnerId ? `&learner=${encodeURIComponent(learnerId)}` : ""}${settle ? "&settle=1" : ""}`,
    ),
};
