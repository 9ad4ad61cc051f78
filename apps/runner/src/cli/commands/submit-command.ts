import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type GradeResult, gradeResultSchema } from "@backend-labs/grade-result";
import { type Lab } from "@backend-labs/lab-format";
import { readLabSubmission } from "../../learner-folder/read-learner-folder.ts";
import { renderReport, type ReportFormat } from "../../report/render-report.ts";
import { UsageError } from "../usage-error.ts";

export interface SubmitOptions {
  /** The platform's address, e.g. https://labs.example.edu */
  url: string;
  /** A personal API token from the account page. */
  token: string;
  format: ReportFormat;
  out?: string;
  /** Give up waiting for the result after this long (the Run itself goes on; the web app shows it). */
  timeoutSeconds: number;
  pollMs?: number;
}

/** The platform refused the Run or could not be reached: its message, and exit 2. */
export class PlatformRefusalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlatformRefusalError";
  }
}

interface SubmissionReply {
  id: string;
  state: "queued" | "running" | "finished" | "cancelled";
  url?: string;
  result: unknown;
}

/**
 * `labs submit [dir]`: sends the folder to a platform as a Run of the token's owner (it shows in their
 * history and progress), waits for the grade, and reports it like `labs grade`. The platform's result
 * never carries the grader's test code.
 */
export async function submitCommand(lab: Lab, dir: string, options: SubmitOptions): Promise<GradeResult> {
  const { submission, ignored } = readLabSubmission(lab, dir);
  if (submission.unreadable.length > 0)
    throw new UsageError(
      `cannot send ${submission.unreadable.map((entry) => `${entry.path} (${entry.reason})`).join(", ")}`,
    );
  if (ignored.length > 0)
    process.stderr.write(
      `[${lab.manifest.id}] left out ${ignored.length} file(s) that are not part of the lab: ${ignored.join(", ")}\n`,
    );
  const files = Object.fromEntries(
    [...submission.files].map(([path, bytes]) => [path, bytes.toString("utf8")]),
  );
  const base = new URL(options.url);
  // The Run's id is chosen here, so that sending it again after a dropped connection queues it once.
  const started = await request(base, "/api/v1/submissions", options.token, {
    method: "POST",
    body: JSON.stringify({ id: randomUUID(), labId: lab.manifest.id, files }),
  });
  process.stderr.write(`[${lab.manifest.id}] submitted: ${started.url ?? started.id}\n`);

  const deadline = Date.now() + options.timeoutSeconds * 1000;
  let state = started.state;
  process.stderr.write(`[${lab.manifest.id}] ${state}\n`);
  for (;;) {
    const reply = await request(base, `/api/v1/submissions/${started.id}`, options.token, { method: "GET" });
    if (reply.state !== state) process.stderr.write(`[${lab.manifest.id}] ${(state = reply.state)}\n`);
    if (reply.state === "cancelled") throw new PlatformRefusalError("the Run was cancelled on the platform");
    if (reply.state === "finished") {
      const result = gradeResultSchema.safeParse(withEmptyTestCode(reply.result));
      if (!result.success) throw new PlatformRefusalError("the platform sent a result this CLI cannot read");
      const report = renderReport(result.data, options.format, !options.out && process.stdout.isTTY === true);
      if (options.out) writeFileSync(options.out, report);
      else process.stdout.write(report);
      return result.data;
    }
    if (Date.now() > deadline)
      throw new PlatformRefusalError(
        `no result within ${options.timeoutSeconds} s; the Run goes on: see ${started.url ?? started.id}`,
      );
    await sleep(options.pollMs ?? 1000);
  }
}

/** Results from the platform leave out each test's source; the report format still has the field. */
function withEmptyTestCode(result: unknown): unknown {
  if (typeof result !== "object" || result === null || !Array.isArray((result as { tests?: unknown }).tests))
    return result;
  const tests = (result as { tests: object[] }).tests.map((test) => ({ ...test, test_code: "" }));
  return { ...result, tests };
}

/** The waits before sending a call the platform never answered again. */
const unansweredRetryDelaysMs = [1_000, 3_000];

async function request(
  base: URL,
  path: string,
  token: string,
  init: { method: "GET" | "POST"; body?: string },
): Promise<SubmissionReply> {
  const url = new URL(path, base);
  let response: Response | undefined;
  for (let attempt = 0; !response; attempt++) {
    try {
      response = await fetch(url, {
        ...init,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      // No answer at all: a dropped connection or a platform restarting. Every call is safe to send again.
      if (attempt < unansweredRetryDelaysMs.length) {
        await sleep(unansweredRetryDelaysMs[attempt]);
        continue;
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new PlatformRefusalError(
        `could not reach ${base.origin} (${cause?.code ?? cause?.message ?? (error as Error).message}): check --url`,
      );
    }
  }
  const body = (await response.json().catch(() => undefined)) as { error?: string } | undefined;
  if (response.ok && body) return body as SubmissionReply;
  const retryAfter = response.headers.get("retry-after");
  const message = body?.error ?? `${response.status} ${response.statusText}`;
  throw new PlatformRefusalError(
    response.status === 404 && !body?.error
      ? `${base.origin} has no Backend Labs API at ${url.pathname}: check --url`
      : `${base.origin} refused: ${message}${retryAfter && !message.includes("Try again") ? ` (try again in ${retryAfter} s)` : ""}`,
  );
}
