import { StatusPage } from "../components/status-page.tsx";

/** A signed-in learner on an instructor page: a 403 that says why, with a way back. */
export default function Forbidden() {
  return (
    <StatusPage title="Instructors only">
      This page shows every learner&apos;s work, and your account is a learner account. Ask an instructor of
      your course if you need access.
    </StatusPage>
  );
}
