import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import Link from "next/link";
import { forbidden, notFound, redirect } from "next/navigation";
import { serverCaller } from "../../../../server/trpc/server-caller.ts";

export const metadata: Metadata = { title: "Lab report" };
export const dynamic = "force-dynamic";

interface LabReportPageProps {
  params: Promise<{ labId: string }>;
}

const percent = (part: number, whole: number) => (whole === 0 ? "–" : `${Math.round((part / whole) * 100)}%`);

function median(sorted: number[]): number | null {
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One lab for its instructor: which tasks and tests learners fail most, and after how many Runs they pass. */
export default async function LabReportPage({ params }: LabReportPageProps) {
  const { labId } = await params;
  const caller = await serverCaller();
  let report;
  try {
    report = await caller.instructor.labReport({ labId });
  } catch (error) {
    if (error instanceof TRPCError && error.code === "UNAUTHORIZED")
      redirect(`/sign-in?next=/instructor/labs/${labId}`);
    if (error instanceof TRPCError && error.code === "FORBIDDEN") forbidden();
    if (error instanceof TRPCError && (error.code === "NOT_FOUND" || error.code === "BAD_REQUEST"))
      notFound();
    throw error;
  }
  const runsToPass = median(report.runsToFirstPass);
  return (
    <main className="page">
      <p className="muted">
        <Link href="/instructor">Labs at a glance</Link> / {report.title}
      </p>
      <h1>{report.title}</h1>
      <p data-testid="lab-report-summary">
        {report.passedLearners} of {report.learners} learners passed
        {runsToPass !== null && `, after ${runsToPass} Run${runsToPass === 1 ? "" : "s"} (median)`}.{" "}
        <Link href={`/instructor?lab=${report.id}`}>Recent runs</Link>
      </p>
      <h2>Tasks</h2>
      <table className="data-table" data-testid="task-failures">
        <thead>
          <tr>
            <th>Task</th>
            <th>Test runs</th>
            <th>Failed</th>
          </tr>
        </thead>
        <tbody>
          {report.tasks.map((task) => (
            <tr key={task.taskId ?? "none"}>
              <td>{task.taskId === null ? "Other checks" : `Task ${task.taskId}: ${task.title ?? ""}`}</td>
              <td>{task.runs}</td>
              <td className={task.failed > 0 ? "status-fail" : "status-pass"}>
                {percent(task.failed, task.runs)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Tests, most failed first</h2>
      <table className="data-table" data-testid="test-failures">
        <thead>
          <tr>
            <th>Test</th>
            <th>Task</th>
            <th>Runs</th>
            <th>Failed</th>
          </tr>
        </thead>
        <tbody>
          {report.tests.map((test) => (
            <tr key={test.name}>
              <td>{test.name}</td>
              <td>{test.taskId ?? "–"}</td>
              <td>{test.runs}</td>
              <td className={test.failed > 0 ? "status-fail" : "status-pass"}>
                {test.failed} ({percent(test.failed, test.runs)})
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {report.tests.length === 0 && <p className="muted">No finished Runs of this lab yet.</p>}
    </main>
  );
}
