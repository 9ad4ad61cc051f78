import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { TestResultList, testRowsOf } from "../../../components/lab/test-result-list.tsx";
import { CodeViewer } from "../../../components/lab-editor/code-viewer.tsx";
import { serverCaller } from "../../../server/trpc/server-caller.ts";

export const metadata: Metadata = { title: "Submission" };
export const dynamic = "force-dynamic";

/** One submission with its files and result: the learner's own, or anyone's for an instructor. */
export default async function SubmissionPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const caller = await serverCaller();
  let submission;
  try {
    submission = await caller.submission.get({ id });
  } catch (error) {
    if (error instanceof TRPCError && error.code === "UNAUTHORIZED")
      redirect(`/sign-in?next=/submissions/${id}`);
    if (error instanceof TRPCError && ["NOT_FOUND", "FORBIDDEN", "BAD_REQUEST"].includes(error.code))
      notFound();
    throw error;
  }
  const lab = await caller.lab.get({ labId: submission.labId }).catch(() => null);
  const tasks = lab?.tasks.map(({ id: taskId, title }) => ({ id: taskId, title })) ?? [];
  const result = submission.result;
  return (
    <main className="page">
      <p className="muted">
        <Link href={`/labs/${submission.labId}`}>{lab?.title ?? submission.labId}</Link> ·{" "}
        {submission.createdAt.toLocaleString()} ·{" "}
        <span className={`badge status-${submission.resultStatus ?? submission.state}`}>
          {submission.resultStatus ?? submission.state}
        </span>
      </p>
      {result?.message && <pre className="result-message">{result.message}</pre>}
      {result && <TestResultList rows={testRowsOf(result)} tasks={tasks} />}
      {Object.entries(submission.files).map(([path, content]) => (
        <section key={path}>
          <h2>{path}</h2>
          <CodeViewer content={content} />
        </section>
      ))}
    </main>
  );
}
