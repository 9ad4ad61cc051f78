import Markdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import { type ReadmeTask, remarkReadmeTasks, taskNumberProperty } from "./readme-tasks.ts";
import { TaskHints } from "./task-hints.tsx";

export interface InstructionsProps {
  markdown: string;
  tasks: (ReadmeTask & { hints: string[] })[];
}

/** Hints are short markdown: code spans and emphasis, no paragraphs of their own. */
const hintComponents: Components = { p: ({ children }) => <>{children}</> };

export function HintText({ markdown }: { markdown: string }) {
  return <Markdown components={hintComponents}>{markdown}</Markdown>;
}

/**
 * The lab's README without its title (the page shows the title already), with each task's hints under
 * that task's own text. Raw HTML in it is not rendered (react-markdown's default), only markdown.
 */
export function Instructions({ markdown, tasks }: InstructionsProps) {
  const components: Components = {
    li: ({ node, children, ...props }) => {
      const task = tasks.find((candidate) => candidate.id === node?.properties[taskNumberProperty]);
      return (
        <li {...props} className={task ? "readme-task" : undefined}>
          {children}
          {task && task.hints.length > 0 && (
            <TaskHints
              taskId={task.id}
              hints={task.hints.map((hint, index) => (
                <HintText key={index} markdown={hint} />
              ))}
            />
          )}
        </li>
      );
    },
  };
  return (
    <article className="instructions">
      <Markdown remarkPlugins={[remarkGfm, [remarkReadmeTasks, { tasks }]]} components={components}>
        {markdown.replace(/^# .*\n+/, "")}
      </Markdown>
    </article>
  );
}
