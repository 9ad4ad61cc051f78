import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { ApiTokens } from "../../components/account/api-tokens.tsx";
import { serverCaller } from "../../server/trpc/server-caller.ts";

export const metadata: Metadata = { title: "Account" };
export const dynamic = "force-dynamic";

export default async function AccountPage() {
  const caller = await serverCaller();
  const user = await caller.auth.me();
  if (!user) redirect("/sign-in?next=/account");
  const tokens = await caller.token.list().catch((error: unknown) => {
    if (error instanceof TRPCError && error.code === "UNAUTHORIZED") redirect("/sign-in?next=/account");
    throw error;
  });
  return (
    <main className="page">
      <h1>Your account</h1>
      <p className="muted">Signed in as {user.email}.</p>
      <ApiTokens
        initial={tokens.map((token) => ({
          ...token,
          createdAt: token.createdAt.toISOString(),
          lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
        }))}
      />
    </main>
  );
}
