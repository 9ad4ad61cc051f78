"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../../lib/trpc.tsx";

/** As the API sends it: dates as ISO strings. */
export interface TokenRow {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const when = (date: string | null) => (date ? new Date(date).toLocaleString() : "never");

/** Personal tokens for `labs submit`: made here (the secret shown once), listed, revoked. */
export function ApiTokens({ initial }: { initial: TokenRow[] }) {
  const trpc = useTRPC();
  const tokens = useQuery({ ...trpc.token.list.queryOptions(), initialData: initial });
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const create = useMutation(
    trpc.token.create.mutationOptions({
      onSuccess: ({ name: madeName, token }) => {
        setCreated({ name: madeName, token });
        setName("");
        void tokens.refetch();
      },
    }),
  );
  const revoke = useMutation(trpc.token.revoke.mutationOptions({ onSuccess: () => void tokens.refetch() }));

  return (
    <section className="api-tokens" aria-labelledby="api-tokens-title">
      <h2 id="api-tokens-title">Tokens for the command line</h2>
      <p>
        <code>labs submit</code> sends a folder from your computer or your CI as a Run of your own: it shows
        in your history and progress like Run in the browser, with the same limits. A token can submit and
        read your Runs, nothing else. Anyone who has it can do that as you: keep it secret, and revoke it when
        you no longer use it.
      </p>
      <form
        className="auth-form token-form"
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate({ name });
        }}
      >
        <label>
          Token name
          <input
            value={name}
            onChange={(event) => setName(event.target.value)}
            placeholder="laptop, CI, …"
            maxLength={60}
            required
          />
        </label>
        <button type="submit" className="button" disabled={create.isPending}>
          Make a token
        </button>
        {create.error && (
          <p className="form-error" role="alert">
            {create.error.message}
          </p>
        )}
      </form>
      {created && (
        <div className="notice" data-testid="new-token" role="status">
          <p>
            Your token <strong>{created.name}</strong>. Copy it now: it is not shown again.
          </p>
          <pre>
            <code>{created.token}</code>
          </pre>
          <p>Use it with:</p>
          <pre>
            <code>{`export BACKEND_LABS_TOKEN=${created.token}\npnpm labs submit --url ${typeof window === "undefined" ? "" : window.location.origin}`}</code>
          </pre>
        </div>
      )}
      {tokens.data.length === 0 ? (
        <p className="muted">You have no tokens.</p>
      ) : (
        <table className="data-table" data-testid="api-tokens">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Made</th>
              <th scope="col">Last used</th>
              <th scope="col">Revoke</th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((token) => (
              <tr key={token.id}>
                <td>{token.name}</td>
                <td>{when(token.createdAt)}</td>
                <td>{when(token.lastUsedAt)}</td>
                <td>
                  <button
                    type="button"
                    className="link-button"
                    disabled={revoke.isPending}
                    onClick={() => {
                      if (
                        window.confirm(`Revoke the token "${token.name}"? Anything using it stops working.`)
                      )
                        revoke.mutate({ id: token.id });
                    }}
                  >
                    Revoke {token.name}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
