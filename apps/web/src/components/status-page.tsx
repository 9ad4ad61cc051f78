import Link from "next/link";
import type { ReactNode } from "react";

/** The app's own page for a 404 or 403: what happened, why, and a way back (never Next's bare page). */
export function StatusPage({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="page">
      <section className="intro">
        <h1>{title}</h1>
        <p className="muted">{children}</p>
        <p>
          <Link href="/">Back to the roadmap</Link>
        </p>
      </section>
    </main>
  );
}
