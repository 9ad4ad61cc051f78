import { describe } from "vitest";

const taskSuitePattern = /^Task (\d+): /;

/** Groups tests under a numbered task of the lab's README, so each result names the task it belongs to. */
export function task(id: number, title: string, body: () => void): void {
  describe(`Task ${id}: ${title}`, body);
}

/** The task number of a suite name made by task(), if it is one. */
export function taskIdFromSuiteName(name: string): number | undefined {
  const match = taskSuitePattern.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
