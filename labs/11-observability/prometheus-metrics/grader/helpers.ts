// Shared by the grader files: requests to the learner's service, and a parser for what GET /metrics shows.
import { expect } from "vitest";
import { got, type HttpReply, learner, postgres, uid, waitFor, lockWaiters } from "@backend-labs/graders";

export { got };
export type Reply = HttpReply;

export async function call(method: string, path: string, body?: unknown): Promise<Reply> {
  const response = await learner().fetch(path, {
    method,
    ...(body === undefined
      ? {}
      : {
          headers: { "content-type": "application/json" },
          body: typeof body === "string" ? body : JSON.stringify(body),
        }),
  });
  return { status: response.status, text: await response.text() };
}

/** A customer id of this test's own, so tests share nothing. */
export const newCustomer = (): string => uid("cust");

/** Inserts an order directly and returns its id. */
export async function createOrder(): Promise<number> {
  const { rows } = await postgres().query<{ id: string }>(
    "INSERT INTO orders (customer_id, item, quantity) VALUES ($1, 'lamp', 1) RETURNING id",
    [newCustomer()],
  );
  return Number(rows[0]!.id);
}

/** Said wherever a test sends POST /orders with quantity 0 on purpose: its error shows in the learner's output. */
export const deliberate500 =
  '(The "violates check constraint" line in your output comes from the grader\'s deliberate POST with ' +
  "quantity 0: that 500 is expected.)";

/**
 * Holds an ACCESS EXCLUSIVE lock on orders, so every query of the learner's routes waits for it: requests
 * stay in flight, deterministically, until `release()`. `waitForQueued(n)` is whether n queries are
 * waiting on the lock.
 */
export async function lockOrders(): Promise<{
  waitForQueued: (n: number) => Promise<boolean>;
  release: () => Promise<void>;
}> {
  const client = await postgres().connect();
  await client.query("BEGIN");
  await client.query("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
  let released = false;
  return {
    waitForQueued: (n) => waitFor(async () => (await lockWaiters()) >= n, 10_000),
    release: async () => {
      if (released) return;
      released = true;
      try {
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    },
  };
}

export type Labels = Record<string, string>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

export interface Scrape {
  status: number;
  contentType: string;
  text: string;
  samples: Sample[];
  /** `# TYPE name type` declarations. */
  types: Map<string, string>;
  /** Lines that are neither comments nor valid samples. */
  invalid: string[];
}

const sampleName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  return text.trim() === "" ? Number.NaN : Number(text);
}

/** Parses `{a="x",b="y\"z"}` from position `at` of line; returns the labels and the position after `}`. */
function parseLabels(line: string, at: number): { labels: Labels; end: number } | undefined {
  const labels: Labels = {};
  let i = at + 1;
  for (;;) {
    while (line[i] === " " || line[i] === ",") i++;
    if (line[i] === "}") return { labels, end: i + 1 };
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))?.[0];
    if (!name || line[i + name.length] !== "=" || line[i + name.length + 1] !== '"') return undefined;
    i += name.length + 2;
    let value = "";
    for (;;) {
      const char = line[i];
      if (char === undefined) return undefined;
      if (char === '"') break;
      if (char === "\\") {
        const escaped = line[i + 1];
        value += escaped === "n" ? "\n" : (escaped ?? "");
        i += 2;
      } else {
        value += char;
        i++;
      }
    }
    labels[name] = value;
    i++;
  }
}

/** Parses the Prometheus text exposition format (version 0.0.4). */
export function parseExposition(text: string): Pick<Scrape, "samples" | "types" | "invalid"> {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const invalid: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      continue;
    }
    const name = sampleName.exec(line)?.[0];
    if (!name) {
      invalid.push(line);
      continue;
    }
    let labels: Labels = {};
    let rest = line.slice(name.length);
    if (rest.startsWith("{")) {
      const parsed = parseLabels(line, name.length);
      if (!parsed) {
        invalid.push(line);
        continue;
      }
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    const [valueText = "", timestamp] = rest.trim().split(/\s+/);
    const value = parseValue(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") {
      invalid.push(line);
      continue;
    }
    if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) {
      invalid.push(line);
      continue;
    }
    samples.push({ name, labels, value });
  }
  return { samples, types, invalid };
}

export async function scrape(): Promise<Scrape> {
  const response = await learner().fetch("/metrics");
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    text,
    ...parseExposition(text),
  };
}

const sameLabels = (a: Labels, b: Labels): boolean =>
  Object.keys(a).length === Object.keys(b).length &&
  Object.entries(a).every(([key, value]) => b[key] === value);

/** The value of the sample with exactly these labels, or 0 when there is none (a series not yet created). */
export function valueOf(scraped: Pick<Scrape, "samples">, name: string, labels: Labels = {}): number {
  return (
    scraped.samples.find((sample) => sample.name === name && sameLabels(sample.labels, labels))?.value ?? 0
  );
}

/** Whether a sample's labels include all of `labels` (it may have others). */
const hasLabels = (sample: Sample, labels: Labels): boolean =>
  Object.entries(labels).every(([key, value]) => sample.labels[key] === value);

/**
 * The sum of the samples whose labels include `labels`. A series with an extra label still counts here:
 * the tests that promise exact label names check them and say so, the others count requests.
 */
function totalOf(scraped: Pick<Scrape, "samples">, name: string, labels: Labels): number {
  return scraped.samples
    .filter((sample) => sample.name === name && hasLabels(sample, labels))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** How much the samples with these labels (and maybe more) grew between two scrapes. */
export function delta(before: Scrape, after: Scrape, name: string, labels: Labels = {}): number {
  return totalOf(after, name, labels) - totalOf(before, name, labels);
}

/** The samples of one metric name, for assertion messages. */
export function seriesOf(scraped: Pick<Scrape, "samples">, name: string): Sample[] {
  return scraped.samples.filter((sample) => sample.name === name);
}

/** A few series of a metric, one per line, for assertion messages. */
export function showSeries(scraped: Pick<Scrape, "samples">, name: string, limit = 8): string {
  const series = seriesOf(scraped, name);
  if (series.length === 0) return `(no ${name} series at all)`;
  const shown = series.slice(0, limit).map(
    (sample) =>
      `${sample.name}{${Object.entries(sample.labels)
        .map(([key, value]) => `${key}="${value}"`)
        .join(",")}} ${sample.value}`,
  );
  return `${shown.join("\n")}${series.length > limit ? `\n... and ${series.length - limit} more` : ""}`;
}

/** The `le` boundaries of a histogram's series whose labels include these, in order, +Inf last. */
export function bucketBoundaries(scraped: Pick<Scrape, "samples">, name: string, labels: Labels): number[] {
  const boundaries = scraped.samples
    .filter(
      (sample) =>
        sample.name === `${name}_bucket` && sample.labels.le !== undefined && hasLabels(sample, labels),
    )
    .map((sample) => parseValue(sample.labels.le!));
  return [...new Set(boundaries)].sort((a, b) => a - b);
}

/**
 * The cumulative count of the bucket `le` (compared as a number: "1" and "1.0" are the same boundary), summed
 * over the series whose labels include `labels`.
 */
export function bucketCount(
  scraped: Pick<Scrape, "samples">,
  name: string,
  labels: Labels,
  le: number,
): number {
  return scraped.samples
    .filter(
      (sample) =>
        sample.name === `${name}_bucket` &&
        sample.labels.le !== undefined &&
        parseValue(sample.labels.le) === le &&
        hasLabels(sample, labels),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** How much a bucket grew between two scrapes. */
export function bucketDelta(before: Scrape, after: Scrape, name: string, labels: Labels, le: number): number {
  return bucketCount(after, name, labels, le) - bucketCount(before, name, labels, le);
}

/** Fails, with what to do, unless /metrics answered and declares this metric with this type. */
export function expectMetric(scraped: Scrape, name: string, type: string): void {
  expect(
    scraped.status,
    `GET /metrics must answer 200 with what registry.metrics() resolves to (${got(scraped)})`,
  ).toBe(200);
  const kind = `${type[0]!.toUpperCase()}${type.slice(1)}`;
  expect(
    scraped.types.has(name),
    `${name} is missing from /metrics: create a prom-client ${kind} named ${name}, registered in the ` +
      "registry /metrics serves (registers: [registry])",
  ).toBe(true);
  expect(
    scraped.types.get(name),
    `/metrics declares ${name} with the wrong type: it must be a prom-client ${kind}`,
  ).toBe(type);
}
