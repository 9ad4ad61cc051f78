// A remark plugin that finds each of the lab's tasks in its README, so the page can show a task's hints
// beside the task's own text instead of in a second list of titles far below it.

/** The few mdast shapes this plugin reads (react-markdown's own types are not a dependency of the app). */
interface MarkdownNode {
  type: string;
  depth?: number;
  ordered?: boolean | null;
  start?: number | null;
  value?: string;
  children?: MarkdownNode[];
  data?: { hProperties?: Record<string, unknown> };
}

export interface ReadmeTask {
  id: number;
  title: string;
}

/** The hast property that carries a task's number to the list item react-markdown renders. */
export const taskNumberProperty = "dataTask";

/**
 * Marks the items of the numbered list under the README's "## Tasks" heading with their task number and an
 * `id="task-N"` anchor (the results' task links point there). A task the README does not list (a README
 * without a "## Tasks" list, or with fewer items than the lab has tasks) is appended at the end, titled, so
 * its hints are never lost.
 */
export function remarkReadmeTasks({ tasks }: { tasks: ReadmeTask[] }) {
  return (tree: MarkdownNode) => {
    const children = tree.children ?? [];
    const placed = new Set<number>();
    const list = tasksList(children);
    list?.children?.forEach((item, index) => {
      const id = (list.start ?? 1) + index;
      if (!tasks.some((task) => task.id === id)) return;
      markTask(item, id);
      placed.add(id);
    });
    const missing = tasks.filter((task) => !placed.has(task.id));
    if (missing.length === 0) return;
    children.push(
      { type: "heading", depth: 2, children: [{ type: "text", value: "Tasks" }] },
      {
        type: "list",
        ordered: false,
        children: missing.map((task) =>
          markTask(
            {
              type: "listItem",
              children: [
                {
                  type: "paragraph",
                  children: [
                    { type: "strong", children: [{ type: "text", value: `Task ${task.id}: ${task.title}` }] },
                  ],
                },
              ],
            },
            task.id,
          ),
        ),
      },
    );
    tree.children = children;
  };
}

/** The first ordered list after the "## Tasks" heading and before the next heading of its level or above. */
function tasksList(children: MarkdownNode[]): MarkdownNode | undefined {
  const heading = children.findIndex(
    (node) => node.type === "heading" && node.depth === 2 && /^tasks\b/i.test(plainText(node).trim()),
  );
  if (heading === -1) return undefined;
  for (const node of children.slice(heading + 1)) {
    if (node.type === "heading" && (node.depth ?? 6) <= 2) return undefined;
    if (node.type === "list" && node.ordered === true) return node;
  }
  return undefined;
}

function markTask(item: MarkdownNode, id: number): MarkdownNode {
  item.data = {
    ...item.data,
    hProperties: { ...item.data?.hProperties, id: `task-${id}`, [taskNumberProperty]: id },
  };
  return item;
}

function plainText(node: MarkdownNode): string {
  return node.value ?? (node.children ?? []).map(plainText).join("");
}
