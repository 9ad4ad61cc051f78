import Link from "next/link";

/** A signed-in learner on an instructor page: a 403 that says why, with a way back. */
export default function Forbidden() {
  return (
    <main className="page">
      <section className="intro">
        <h1>Instructors only</h1>
        <p className="muted">
          This page shows every learner&apos;s work, and your account is a learner account. Ask an instructor
          of your course if you need access.
        </p>
        <p>
          <Link href="/">Back to the roadmap</Link>
        </p>
      </section>
    </main>
  );
}
