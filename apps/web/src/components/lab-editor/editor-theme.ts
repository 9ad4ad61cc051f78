import { currentColorScheme, watchColorScheme } from "../theme/color-scheme.ts";
import { monaco } from "./monaco-environment.ts";

export const editorThemeName = "backend-labs";

/**
 * The language of read-only copies (a past Run, a learner's file for an instructor): plain text, because
 * every "typescript" model joins the lab's TypeScript worker, which then reports these copies' URIs as
 * missing source files and checks them as if they were part of the learner's program.
 */
export const readOnlyLanguage = "plaintext";

/**
 * A colour from globals.css as Monaco needs it (#rrggbb). The variables are light-dark() pairs, which only
 * an element's computed style resolves, so a hidden probe element reads them.
 */
function cssColor(variable: string, fallback: string): string {
  const probe = document.createElement("span");
  probe.style.cssText = `display:none;color:var(${variable})`;
  document.body.append(probe);
  const rgb = getComputedStyle(probe).color.match(/\d+/g);
  probe.remove();
  if (!rgb || rgb.length < 3) return fallback;
  return `#${rgb
    .slice(0, 3)
    .map((channel) => Number(channel).toString(16).padStart(2, "0"))
    .join("")}`;
}

/**
 * Monaco's light or dark base (whichever the page shows now) with the app's surfaces, borders and accent,
 * so the editor sits in the page like a panel. Called again when the scheme changes.
 */
export function defineEditorTheme(): void {
  const panel = cssColor("--panel", "#171a21");
  const border = cssColor("--border", "#2a2f3a");
  const text = cssColor("--text", "#e6e8ee");
  const muted = cssColor("--muted", "#9aa3b2");
  const accent = cssColor("--accent", "#5b9dff");
  const dark = currentColorScheme() === "dark";
  monaco.editor.defineTheme(editorThemeName, {
    base: dark ? "vs-dark" : "vs",
    inherit: true,
    // vs-dark's comment green (#608b4e) is 4.4:1 on the panel, under WCAG AA's 4.5 (axe, e2e).
    rules: dark ? [{ token: "comment", foreground: "6a9955" }] : [],
    colors: {
      "editor.background": panel,
      "editor.foreground": text,
      "editorGutter.background": panel,
      // Full strength: at half alpha the numbers fall below WCAG AA contrast (axe, e2e).
      "editorLineNumber.foreground": muted,
      "editorLineNumber.activeForeground": text,
      "editor.lineHighlightBackground": `${border}66`,
      "editor.lineHighlightBorder": "#00000000",
      "editorCursor.foreground": accent,
      "editor.selectionBackground": `${accent}40`,
      "editorWidget.background": panel,
      "editorWidget.border": border,
      "editorSuggestWidget.background": panel,
      "editorSuggestWidget.border": border,
      "editorSuggestWidget.selectedBackground": `${accent}33`,
      "editorHoverWidget.background": panel,
      "editorHoverWidget.border": border,
      focusBorder: `${accent}99`,
      "scrollbarSlider.background": `${border}aa`,
    },
  });
}

/** Defines the theme now and again whenever the page switches light/dark; returns the unsubscribe. */
export function followColorScheme(): () => void {
  defineEditorTheme();
  return watchColorScheme(() => {
    defineEditorTheme();
    monaco.editor.setTheme(editorThemeName);
  });
}
