import Link from "next/link";
import { LabMeta } from "../components/roadmap/lab-meta.tsx";
import { ProgressMeter } from "../components/roadmap/progress-meter.tsx";
import { serverCaller } from "../server/trpc/server-caller.ts";

export const dynamic = "force-dynamic";

export default async function RoadmapPage() {
  const caller = await serverCaller();
  const [sections, user, continueLab] = await Promise.all([
    caller.lab.roadmap(),
    caller.auth.me(),
    caller.lab.continueWhereLeftOff(),
  ]);
  const total = sections.reduce((sum, section) => sum + section.labs.length, 0);
  const passed = sections.reduce((sum, section) => sum + section.passed, 0);
  return (
    <main className="page wide">
      <section className="intro">
        <h1>The backend roadmap, lab by lab</h1>
        <p className="muted">
          Each lab is a small, real problem graded against real Postgres, Redis and Kafka. Read the tasks,
          write the code in your browser, press Run and watch the tests go green.
        </p>
        {user ? (
          <>
            <ProgressMeter
              passed={passed}
              total={total}
              label={`You have passed ${passed} of ${total} labs.`}
              testId="overall-progress"
            />
            {continueLab && (
              <p className="continue" data-testid="continue-lab">
                Continue where you left off:{" "}
                <Link href={`/labs/${continueLab.id}`} className="button">
                  {continueLab.title}
                </Link>
              </p>
            )}
          </>
        ) : (
          <p>
            <Link href="/sign-up">Create an account</Link> to run your code and keep your progress.
          </p>
        )}
      </section>
      <ol className="roadmap">
        {sections.map((section) => (
          <li key={section.number} className="roadmap-section" data-testid={`section-${section.number}`}>
            <header>
              <h2>
                <span className="section-number">{section.number}</span> {section.name}
              </h2>
              {user && section.labs.length > 0 && (
                <ProgressMeter
                  passed={section.passed}
                  total={section.labs.length}
                  label={`${section.passed}/${section.labs.length} passed`}
                  testId={`section-${section.number}-progress`}
                />
              )}
            </header>
            {section.labs.length === 0 ? (
              <p className="muted">No labs in this section yet.</p>
            ) : (
              <ul className="lab-cards">
                {section.labs.map((lab) => (
                  <li key={lab.id} className="lab-card" data-testid={`lab-card-${lab.id}`}>
                    <Link href={`/labs/${lab.id}`}>
                      <h3>{lab.title}</h3>
                      <p className="muted">{lab.summary}</p>
                      <LabMeta {...lab} progress={user ? lab.progress : undefined} />
                    </Link>
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </main>
  );
}
