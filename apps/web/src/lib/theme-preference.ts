// The learner's colour theme: "system" follows the operating system; "light" and "dark" pin one. Kept in
// a cookie so the server renders <html data-theme> and the first paint already has the right colours.

export const themeCookieName = "bl_theme";
export const themePreferences = ["system", "light", "dark"] as const;
export type ThemePreference = (typeof themePreferences)[number];

export function parseThemePreference(value: string | undefined): ThemePreference {
  return themePreferences.find((preference) => preference === value) ?? "system";
}
