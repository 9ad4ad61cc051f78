import { type Metadata } from "next";
import { type ReactNode } from "react";
import { SiteHeader } from "../components/account/site-header.tsx";
import { TrpcProvider } from "../lib/trpc.tsx";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Backend Labs", template: "%s · Backend Labs" },
  description: "Learn backend engineering by doing it, against real Postgres, Redis and Kafka.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TrpcProvider>
          <SiteHeader />
          {children}
        </TrpcProvider>
      </body>
    </html>
  );
}
