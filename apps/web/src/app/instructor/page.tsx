import { scorePercent } from "@backend-labs/grade-score";
import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import Link from "next/link";
import { forbidden, redirect } from "next/navigation";
import { serverCaller } from "../../server/trpc/server-caller.ts";

export const metadata: Metadata = { title: "Instructor" };
export const dynamic = "force-dynamic";

interface InstructorPageProps {
  searchParams: Promise<{ lab?: string; learner?: string }>;
}

export default async function InstructorPage({ searchParams }: InstructorPageProps) {
  const { lab, learner } = await searchParams;
  const caller = await serverCaller();
  let stats, submissions;
  try {
    [stats, submissions] = await Promise.all([
      caller.instructor.labStats(),
      caller.instructor.submissions({ ...(lab && { labId: lab }), ...(learner && { email: learner }) }),
    ]);
  } catch (error) {
    if (error instanceof TRPCError && error.code === "UNAUTHORIZED") redirect("/sign-in?next=/instructor");
    if (error instanceof TRPCError && error.code === "FORBIDDEN") forbidden();
    throw error;
  }
  return (
    <main className="page">
      <h1>Labs at a glance</h1>
      {stats.invalidLabs.length > 0 && (
        <section className="notice">
          <h2>Labs skipped because their folder is invalid</h2>
          {stats.invalidLabs.map((message) => (
            <pre key={message}>{message}</pre>
          ))}
        </section>
      )}
      <table className="data-table" data-testid="lab-stats">
        <thead>
          <tr>
            <th>Section</th>
            <th>Lab</th>
            <th>Learners</th>
            <th>Passed</th>
            <th>Pass rate</th>
            <th>Runs</th>
          </tr>
        </thead>
        <tbody>
          {stats.labs.map((row) => (
            <tr key={row.id}>
              <td>{row.section}</td>
              <td>
                <Link href={`/instructor/labs/${row.id}`}>{row.title}</Link>
              </td>
              <td>{row.learners}</td>
              <td>{row.passedLearners}</td>
              <td>{row.passRate === null ? "–" : `${Math.round(row.passRate * 100)}%`}</td>
              <td>{row.submissions}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>
        Recent runs{lab && ` of ${stats.labs.find((row) => row.id === lab)?.title ?? lab}`}
        {learner && ` by ${learner}`}
      </h2>
      <table className="data-table">
        <thead>
          <tr>
            <th>When</th>
            <th>Learner</th>
            <th>Lab</th>
            <th>Result</th>
            <th>Tests</th>
            <th>Score</th>
          </tr>
        </thead>
        <tbody>
          {submissions.map((row) => (
            <tr key={row.id}>
              <td>{row.createdAt.toLocaleString()}</td>
              <td>
                <Link href={`/instructor?learner=${encodeURIComponent(row.learner)}`}>{row.learner}</Link>
              </td>
              <td>
                <Link href={`/instructor?lab=${row.labId}`}>{row.labTitle}</Link>
              </td>
              <td>
                <Link
                  href={`/submissions/${row.id}`}
                  className={`badge status-${row.resultStatus ?? row.state}`}
                  data-testid="run-status"
                >
                  {row.resultStatus ?? row.state}
                </Link>
              </td>
              <td>{row.counts ? `${row.counts.passed}/${row.counts.total}` : "–"}</td>
              <td>{row.counts ? scorePercent(row.counts.score) : "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
