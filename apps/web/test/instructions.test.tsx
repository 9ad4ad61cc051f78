import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { HintText, Instructions } from "../src/components/lab/instructions.tsx";

const tasks = [
  { id: 1, title: "Serve the page", hints: ["Use `ORDER BY`"] },
  { id: 2, title: "Walk the feed", hints: [] },
];

function render(markdown: string): string {
  return renderToStaticMarkup(<Instructions markdown={markdown} tasks={tasks} />);
}

describe("Instructions", () => {
  it("puts each task's hints under the task's own text in the README's task list", () => {
    const html = render(
      "# Title\n\nWhy.\n\n## Tasks\n\n1. **Serve the page.** Return it.\n2. **Walk the feed.** Follow it.\n\n## Notes\n\n1. not a task\n",
    );
    expect(html).not.toContain("Title");
    expect(html).toMatch(
      /<li id="task-1"[^>]*>[\s\S]*Serve the page[\s\S]*Show a hint \(1 left\)[\s\S]*?<\/li>/,
    );
    expect(html).toMatch(/<li id="task-2"[^>]*>[\s\S]*Walk the feed/);
    // A task without hints offers none, and a numbered list outside "## Tasks" is not a task.
    expect(html.match(/Show a hint/g)).toHaveLength(1);
    expect(html).toContain("<li>not a task</li>");
    expect(html).not.toContain("Tasks and hints");
  });

  it("lists the tasks a README does not number under Tasks at the end, so no task or hint is lost", () => {
    const html = render("# Title\n\nNo task list here.\n");
    expect(html).toMatch(/<h2>Tasks<\/h2>[\s\S]*id="task-1"[\s\S]*Task 1: Serve the page[\s\S]*id="task-2"/);
    expect(html).toContain("Show a hint");
  });

  it("renders a hint's markdown inline: code spans, no paragraph of its own", () => {
    expect(renderToStaticMarkup(<HintText markdown="Use `ORDER BY` and **both** keys" />)).toBe(
      "Use <code>ORDER BY</code> and <strong>both</strong> keys",
    );
  });
});
