import { type GradeResult } from "@backend-labs/grade-result";
import { gradeScore, scorePercent } from "@backend-labs/grade-score";

/**
 * A Markdown summary, for a CI job's summary page (GitHub's `$GITHUB_STEP_SUMMARY`) or a merge-request
 * comment: the verdict and score, a row per task, then each failing test with the first lines of its message.
 */
export function markdownReport(result: GradeResult): string {
  const { score, tasks } = gradeScore(result);
  const verdict = { pass: "✅ PASS", fail: "❌ FAIL", error: "⚠️ ERROR" }[result.status];
  const lines = [`## ${verdict} ${result.lab_id}: score ${scorePercent(score)}`, ""];
  if (result.message) lines.push(quoted(result.message), "");
  if (tasks.length > 0) {
    lines.push("| task | tests passed | score |", "| --- | --- | --- |");
    for (const task of tasks) {
      const title = taskTitle(result, task.task_id);
      lines.push(`| ${cell(title)} | ${task.passed}/${task.total} | ${scorePercent(task.score)} |`);
    }
    lines.push("");
  }
  const failing = result.tests.filter((test) => test.status !== "pass");
  if (failing.length > 0) {
    lines.push(`### Failing tests (${failing.length})`, "");
    for (const test of failing) {
      lines.push(`- **${escaped(test.name)}**`);
      if (test.message) lines.push("", quoted(firstLines(test.message, 6), "  "), "");
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Graders name their tests "Task 2: Count words > ...": the task's own title is the part before " > ". */
function taskTitle(result: GradeResult, taskId: number | null): string {
  if (taskId === null) return "other tests";
  const named = result.tests.find((test) => test.task_id === taskId)?.name.split(" > ")[0];
  return named?.startsWith(`Task ${taskId}`) ? named : `Task ${taskId}`;
}

function firstLines(text: string, count: number): string {
  const lines = text.split("\n");
  return lines.length > count ? [...lines.slice(0, count), "…"].join("\n") : text;
}

/** A Markdown block quote of plain text: its own markup must not render. */
function quoted(text: string, indent = ""): string {
  return text
    .split("\n")
    .map((line) => `${indent}> ${escaped(line)}`)
    .join("\n");
}

function cell(text: string): string {
  return escaped(text).replaceAll("|", "\\|");
}

function escaped(text: string): string {
  return text.replace(/[\\`*_[\]<>#]/g, (character) => `\\${character}`);
}
