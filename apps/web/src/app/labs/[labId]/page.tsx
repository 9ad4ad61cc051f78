import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { cache } from "react";
import { Instructions } from "../../../components/lab/instructions.tsx";
import { LabLayout } from "../../../components/lab/lab-layout.tsx";
import { LabWorkbench } from "../../../components/lab/lab-workbench.tsx";
import { LabMeta } from "../../../components/roadmap/lab-meta.tsx";
import { serverCaller } from "../../../server/trpc/server-caller.ts";

export const dynamic = "force-dynamic";

interface LabPageProps {
  params: Promise<{ labId: string }>;
}

/** Cached per request: generateMetadata and the page read the lab once between them. */
const loadLab = cache(async (labId: string) => {
  const caller = await serverCaller();
  try {
    const [lab, user] = await Promise.all([caller.lab.get({ labId }), caller.auth.me()]);
    const draft = user ? await caller.draft.get({ labId }) : null;
    return { lab, user, draft };
  } catch (error) {
    if (error instanceof TRPCError && (error.code === "NOT_FOUND" || error.code === "BAD_REQUEST"))
      notFound();
    throw error;
  }
});

export async function generateMetadata({ params }: LabPageProps): Promise<Metadata> {
  const { lab } = await loadLab((await params).labId);
  return { title: lab.title };
}

export default async function LabPage({ params }: LabPageProps) {
  const { lab, user, draft } = await loadLab((await params).labId);
  return (
    <LabLayout
      instructions={
        <section className="lab-brief">
          <p className="muted">
            <Link href="/">Roadmap</Link> / {lab.section.number}. {lab.section.name}
          </p>
          <h1>{lab.title}</h1>
          <LabMeta {...lab} progress={user ? lab.progress : undefined} />
          <Instructions markdown={lab.instructions} tasks={lab.tasks} />
        </section>
      }
      workbench={
        <LabWorkbench
          labId={lab.id}
          starterFiles={lab.files}
          draftFiles={draft?.files ?? null}
          tasks={lab.tasks.map(({ id, title }) => ({ id, title }))}
          signedIn={user !== null}
          nextLab={lab.nextLab}
        />
      }
    />
  );
}
