// The colour scheme the page shows right now, and a way to hear when it changes (a toggle pins a theme,
// or the system switches while "system" is chosen). Monaco needs this: it cannot read CSS light-dark().

export type ColorScheme = "light" | "dark";

const systemDark = () => window.matchMedia("(prefers-color-scheme: dark)");

export function currentColorScheme(): ColorScheme {
  const pinned = document.documentElement.dataset.theme;
  if (pinned === "light" || pinned === "dark") return pinned;
  return systemDark().matches ? "dark" : "light";
}

/** Calls `onChange` whenever the shown scheme may have changed; returns the unsubscribe. */
export function watchColorScheme(onChange: () => void): () => void {
  const media = systemDark();
  media.addEventListener("change", onChange);
  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  return () => {
    media.removeEventListener("change", onChange);
    observer.disconnect();
  };
}
