import Link from "next/link";

/** Unknown labs and pages: the app's own page, with a way back (Next's bare default is a white page). */
export default function NotFound() {
  return (
    <main className="page">
      <section className="intro">
        <h1>This page does not exist</h1>
        <p className="muted">
          The lab or page you asked for is not here: the link may be old, or the address mistyped.
        </p>
        <p>
          <Link href="/">Back to the roadmap</Link>
        </p>
      </section>
    </main>
  );
}
