import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type ReportedMutant } from "@backend-labs/lab-format";

/** Where interrupted runs keep what they judged: a cache, so losing it only costs time. */
export function defaultJournalDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "backend-labs", "mutate");
}

type JournalLine = { run: string } | { mutant: string; judged: ReportedMutant; at: string };

/**
 * What a `labs mutate` run has judged so far, one JSON line per mutant, so an interrupted run (Ctrl+C, a
 * runner that gave up, a machine that went away) resumes where it stopped instead of grading hundreds of
 * mutants again. A journal belongs to exactly the inputs it was written for: the lab's files, the mutation
 * engine and the grading platform. Any change starts a new one, so a resumed result is never one the
 * current files would not give.
 */
export class MutationJournal {
  readonly file: string;
  /** Mutants judged by earlier runs of the same inputs, by mutantKey(). */
  readonly judged = new Map<string, ReportedMutant>();
  /** Wall-clock seconds the earlier runs spent, from each run's start to its last judged mutant. */
  readonly earlierSeconds: number;

  /** `resume: false` starts over, leaving what earlier runs of the same inputs judged unread. */
  constructor(
    dir: string,
    labId: string,
    inputs: string,
    platformHash: string,
    { resume }: { resume: boolean },
  ) {
    const key = createHash("sha256").update(`${inputs}\n${platformHash}`).digest("hex").slice(0, 16);
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${labId}-${key}.jsonl`);
    if (!resume) rmSync(this.file, { force: true });
    this.earlierSeconds = existsSync(this.file) ? this.load() : 0;
    this.append({ run: new Date().toISOString() });
  }

  record(key: string, judged: ReportedMutant): void {
    this.append({ mutant: key, judged, at: new Date().toISOString() });
  }

  /** The run finished and its report is written: nothing left to resume. */
  remove(): void {
    rmSync(this.file, { force: true });
  }

  private load(): number {
    let seconds = 0;
    let runStarted: number | undefined;
    let lastJudged: number | undefined;
    const closeRun = () => {
      if (runStarted !== undefined && lastJudged !== undefined) seconds += (lastJudged - runStarted) / 1000;
    };
    for (const text of readFileSync(this.file, "utf8").split("\n")) {
      let line: JournalLine;
      try {
        line = JSON.parse(text) as JournalLine;
      } catch {
        continue; // empty, or the last line of a run killed mid-write
      }
      if ("run" in line) {
        closeRun();
        runStarted = Date.parse(line.run);
        lastJudged = undefined;
      } else {
        this.judged.set(line.mutant, line.judged);
        lastJudged = Date.parse(line.at);
      }
    }
    closeRun();
    return seconds;
  }

  private append(line: JournalLine): void {
    appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }
}

/** A mutant's identity across runs of the same inputs: the instrumenter makes the same mutants in order. */
export function mutantKey(mutant: {
  file: string;
  line: number;
  column: number;
  mutator: string;
  replacement: string;
}): string {
  return `${mutant.file}:${mutant.line}:${mutant.column}:${mutant.mutator}:${mutant.replacement}`;
}
