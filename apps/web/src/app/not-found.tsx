import { StatusPage } from "../components/status-page.tsx";

/** Unknown labs and pages: the app's own page, with a way back (Next's bare default is a white page). */
export default function NotFound() {
  return (
    <StatusPage title="This page does not exist">
      The lab or page you asked for is not here: the link may be old, or the address mistyped.
    </StatusPage>
  );
}
