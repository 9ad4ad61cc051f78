import { monaco } from "./monaco-environment.ts";

export const editorThemeName = "backend-labs-dark";

/** A colour from globals.css; Monaco takes only hex colours, so anything else falls back. */
function cssColor(variable: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(variable).trim();
  return /^#[0-9a-f]{6}$/i.test(value) ? value : fallback;
}

/** vs-dark with the app's surfaces, borders and accent, so the editor sits in the page like a panel. */
export function defineEditorTheme(): void {
  const panel = cssColor("--panel", "#171a21");
  const border = cssColor("--border", "#2a2f3a");
  const text = cssColor("--text", "#e6e8ee");
  const muted = cssColor("--muted", "#9aa3b2");
  const accent = cssColor("--accent", "#5b9dff");
  monaco.editor.defineTheme(editorThemeName, {
    base: "vs-dark",
    inherit: true,
    rules: [],
    colors: {
      "editor.background": panel,
      "editor.foreground": text,
      "editorGutter.background": panel,
      "editorLineNumber.foreground": `${muted}80`,
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
