"use client";

import { useState, useSyncExternalStore } from "react";
import { type ThemePreference, themeCookieName, themePreferences } from "../../lib/theme-preference.ts";

const labels: Record<ThemePreference, string> = { system: "System", light: "Light", dark: "Dark" };

/** System → light → dark: pins the choice on <html> at once and in a cookie for the next page loads. */
export function ThemeToggle({ initial }: { initial: ThemePreference }) {
  const [preference, setPreference] = useState(initial);
  // Disabled until React has hydrated it: a click on the server's HTML before that would be lost.
  const hydrated = useSyncExternalStore(
    () => () => {},
    () => true,
    () => false,
  );
  const next = themePreferences[(themePreferences.indexOf(preference) + 1) % themePreferences.length]!;
  const choose = () => {
    setPreference(next);
    if (next === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = next;
    document.cookie = `${themeCookieName}=${next}; path=/; max-age=${60 * 60 * 24 * 365}; samesite=lax`;
  };
  return (
    <button
      type="button"
      className="link-button theme-toggle"
      onClick={choose}
      disabled={!hydrated}
      aria-label={`Theme: ${labels[preference]}. Switch to ${labels[next]}`}
      data-testid="theme-toggle"
      data-preference={preference}
    >
      Theme: {labels[preference]}
    </button>
  );
}
