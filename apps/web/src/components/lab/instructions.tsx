import Markdown from "react-markdown";
import remarkGfm from "remark-gfm";

/**
 * The lab's README without its title (the page shows the title already). Raw HTML in it is not
 * rendered (react-markdown's default), only markdown.
 */
export function Instructions({ markdown }: { markdown: string }) {
  return (
    <article className="instructions">
      <Markdown remarkPlugins={[remarkGfm]}>{markdown.replace(/^# .*\n+/, "")}</Markdown>
    </article>
  );
}
