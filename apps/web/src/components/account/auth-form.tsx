"use client";

import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { type FormEvent, Suspense, useState } from "react";
import { passwordRules } from "../../lib/password-rules.ts";
import { useTRPC } from "../../lib/trpc.tsx";

/** Sign-up and sign-in share one form; the server checks the input again and names what is wrong. */
export function AuthForm({ mode }: { mode: "sign-up" | "sign-in" }) {
  const trpc = useTRPC();
  const router = useRouter();
  const next = safeNext(useSearchParams().get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const options = {
    onSuccess: () => {
      router.push(next);
      router.refresh();
    },
  };
  const signUp = useMutation(trpc.auth.signUp.mutationOptions(options));
  const signIn = useMutation(trpc.auth.signIn.mutationOptions(options));
  const mutation = mode === "sign-up" ? signUp : signIn;
  const fieldErrors = mutation.error?.data?.fieldErrors as Record<string, string[] | undefined> | undefined;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    mutation.mutate({ email, password });
  };

  return (
    <form className="auth-form" onSubmit={submit} noValidate>
      <h1>{mode === "sign-up" ? "Create your account" : "Sign in"}</h1>
      <label>
        Email
        <input
          type="email"
          name="email"
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          required
        />
      </label>
      {fieldErrors?.email && <p className="field-error">{fieldErrors.email.join(" ")}</p>}
      <label>
        Password
        <input
          type="password"
          name="password"
          autoComplete={mode === "sign-up" ? "new-password" : "current-password"}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-describedby={mode === "sign-up" ? "password-rules" : undefined}
          required
        />
      </label>
      {mode === "sign-up" && (
        <p id="password-rules" className="field-hint muted">
          {passwordRules}
        </p>
      )}
      {fieldErrors?.password && <p className="field-error">{fieldErrors.password.join(" ")}</p>}
      {mutation.error?.data?.code === "CONFLICT" ? (
        <p className="form-error" role="alert">
          An account with this email already exists.{" "}
          <Link href={`/sign-in?next=${encodeURIComponent(next)}`}>Sign in instead</Link>
        </p>
      ) : (
        mutation.error &&
        !fieldErrors && (
          <p className="form-error" role="alert">
            {mutation.error.message}
          </p>
        )
      )}
      <button type="submit" className="button" disabled={mutation.isPending}>
        {mode === "sign-up" ? "Sign up" : "Sign in"}
      </button>
      <p className="muted">
        {mode === "sign-up" ? (
          <>
            Have an account? <Link href={`/sign-in?next=${encodeURIComponent(next)}`}>Sign in</Link>
          </>
        ) : (
          <>
            New here? <Link href={`/sign-up?next=${encodeURIComponent(next)}`}>Create an account</Link>
          </>
        )}
      </p>
    </form>
  );
}

/** Only same-site paths: `next` must not turn the form into an open redirect. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

/** The whole sign-up or sign-in page (useSearchParams needs a Suspense boundary). */
export function AuthPage({ mode }: { mode: "sign-up" | "sign-in" }) {
  return (
    <main className="narrow">
      <Suspense>
        <AuthForm mode={mode} />
      </Suspense>
    </main>
  );
}
