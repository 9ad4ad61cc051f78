import Link from "next/link";
import type { ThemePreference } from "../../lib/theme-preference.ts";
import { serverCaller } from "../../server/trpc/server-caller.ts";
import { ThemeToggle } from "../theme/theme-toggle.tsx";
import { SignOutButton } from "./sign-out-button.tsx";

export async function SiteHeader({ theme }: { theme: ThemePreference }) {
  const user = await (await serverCaller()).auth.me();
  return (
    <header className="site-header">
      <Link href="/" className="brand">
        Backend Labs
      </Link>
      <nav>
        <ThemeToggle initial={theme} />
        {user?.role === "instructor" && <Link href="/instructor">Instructor</Link>}
        {user ? (
          <>
            <Link
              href="/account"
              className="muted signed-in-as"
              data-testid="signed-in-as"
              title="Your account"
            >
              {user.email}
            </Link>
            <SignOutButton />
          </>
        ) : (
          <>
            <Link href="/sign-in">Sign in</Link>
            <Link href="/sign-up" className="button">
              Sign up
            </Link>
          </>
        )}
      </nav>
    </header>
  );
}
