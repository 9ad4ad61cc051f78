import type { Metadata } from "next";
import { cookies } from "next/headers";
import type { ReactNode } from "react";
import { SiteHeader } from "../components/account/site-header.tsx";
import { KeyboardShortcuts } from "../components/keyboard/keyboard-shortcuts.tsx";
import { parseThemePreference, themeCookieName } from "../lib/theme-preference.ts";
import { TrpcProvider } from "../lib/trpc.tsx";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Backend Labs", template: "%s · Backend Labs" },
  description: "Learn backend engineering by doing it, against real Postgres, Redis and Kafka.",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  const theme = parseThemePreference((await cookies()).get(themeCookieName)?.value);
  return (
    <html lang="en" data-theme={theme === "system" ? undefined : theme}>
      <body>
        <TrpcProvider>
          <SiteHeader theme={theme} />
          {children}
          <KeyboardShortcuts />
        </TrpcProvider>
      </body>
    </html>
  );
}
