import { type GradeResult, type GradeStatus } from "@backend-labs/grade-result";
import { gradeScore, scorePercent } from "@backend-labs/grade-score";
import { createColors } from "picocolors";

/** A readable terminal view; colour only when the output is a terminal. */
export function prettyReport(result: GradeResult, useColor: boolean): string {
  const c = createColors(useColor);
  const mark: Record<GradeStatus, string> = { pass: c.green("✓"), fail: c.red("✗"), error: c.yellow("!") };
  const lines: string[] = [];
  let task: number | undefined;
  for (const test of result.tests) {
    if (test.task_id !== task && test.task_id !== undefined) {
      task = test.task_id;
      lines.push("", c.bold(`Task ${task}`));
    }
    // Under its task heading a test needs only its own name, not the "Task n: title > " path.
    const shortName =
      test.task_id === undefined ? test.name : test.name.split(" > ").slice(1).join(" > ") || test.name;
    lines.push(`  ${mark[test.status]} ${shortName} ${c.dim(`(${test.duration_ms} ms)`)}`);
    if (test.status !== "pass" && test.message) lines.push(indent(test.message, "      "));
    if (test.status !== "pass" && test.output)
      lines.push(c.dim(indent(`your output:\n${test.output}`, "      ")));
  }
  const passed = result.tests.filter((test) => test.status === "pass").length;
  const failed = result.tests.length - passed;
  const headline = {
    pass: c.green(c.bold("PASS")),
    fail: c.red(c.bold("FAIL")),
    error: c.yellow(c.bold("ERROR")),
  }[result.status];
  lines.push("", `${headline} ${result.lab_id} · score ${scoreLine(result)}`);
  if (result.message) lines.push(indent(result.message, "  "));
  const services = Object.entries(result.services).map(([name, { version }]) => `${name} ${version}`);
  lines.push(
    c.dim(
      `${passed} passed, ${failed} failed · ${(result.timings.total_ms / 1000).toFixed(1)} s` +
        (services.length ? ` · ${services.join(", ")}` : ""),
    ),
  );
  return lines.join("\n").replace(/^\n/, "") + "\n";
}

/** "62.5 % (task 1: 3/4, task 2: 2/2)": the overall score, then each task's passed tests. */
function scoreLine(result: GradeResult): string {
  const { score, tasks } = gradeScore(result);
  const perTask = tasks.map(
    (task) => `${task.task_id === null ? "other" : `task ${task.task_id}`}: ${task.passed}/${task.total}`,
  );
  return `${scorePercent(score)}${perTask.length > 0 ? ` (${perTask.join(", ")})` : ""}`;
}

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
}
