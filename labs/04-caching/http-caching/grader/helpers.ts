// Shared by the grader files: requests to the learner's server, rows written directly to Postgres (as the
// back office would), and the caching rules of RFC 9110/9111 that the assertions explain.
import { randomUUID } from "node:crypto";
import { learner, postgres } from "@backend-labs/graders";

const api = learner();

export interface Reply {
  status: number;
  headers: Headers;
  /** The body as text (fetch has already undone any gzip). */
  body: string;
}

export async function get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return request(path, { headers });
}

/** Any request (another method, a raw path) to the learner's server. */
export async function request(path: string, init: RequestInit): Promise<Reply> {
  const response = await api.fetch(path, init);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** The body parsed as JSON; a string describing it when it is not JSON. */
export function json(reply: Reply): unknown {
  try {
    return JSON.parse(reply.body) as unknown;
  } catch {
    return `(not JSON: ${reply.body.slice(0, 80)})`;
  }
}

/** A fresh id for this grade, so tests never share rows. */
export function uid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** A fixed moment in the past plus offsetMs: tests choose exactly which updates fall in the same second. */
export function at(offsetMs: number): Date {
  return new Date(Date.UTC(2025, 5, 2, 9, 30, 0) + offsetMs);
}

export interface ProductJson {
  id: string;
  name: string;
  priceCents: number;
  updatedAt: string;
}

export async function insertProduct(
  id: string,
  name: string,
  priceCents: number,
  updatedAt: Date,
): Promise<ProductJson> {
  await postgres().query("INSERT INTO products (id, name, price_cents, updated_at) VALUES ($1, $2, $3, $4)", [
    id,
    name,
    priceCents,
    updatedAt,
  ]);
  return { id, name, priceCents, updatedAt: updatedAt.toISOString() };
}

/** Updates a product as the back office would; the schema's trigger adds 1 to its version. */
export async function updateProduct(
  id: string,
  changes: { name?: string; priceCents?: number },
  updatedAt: Date,
): Promise<void> {
  await postgres().query(
    `UPDATE products SET name = coalesce($2, name), price_cents = coalesce($3, price_cents), updated_at = $4
      WHERE id = $1`,
    [id, changes.name ?? null, changes.priceCents ?? null, updatedAt],
  );
}

export async function deleteProduct(id: string): Promise<void> {
  await postgres().query("DELETE FROM products WHERE id = $1", [id]);
}

export async function insertAccount(id: string, email: string, displayName: string): Promise<string> {
  const token = `tok_${randomUUID().replaceAll("-", "")}`;
  await postgres().query(
    "INSERT INTO accounts (id, email, display_name, api_token) VALUES ($1, $2, $3, $4)",
    [id, email, displayName, token],
  );
  return token;
}

export async function renameAccount(id: string, displayName: string): Promise<void> {
  await postgres().query("UPDATE accounts SET display_name = $2, updated_at = now() WHERE id = $1", [
    id,
    displayName,
  ]);
}

/** Cache-Control directives by lower-case name; `true` for a directive without a value. */
export function directives(header: string | null): Map<string, string | true> {
  const parsed = new Map<string, string | true>();
  for (const part of (header ?? "").split(",")) {
    const [name = "", value] = part.trim().split("=", 2);
    if (name) parsed.set(name.toLowerCase(), value === undefined ? true : value.replace(/^"|"$/g, ""));
  }
  return parsed;
}

/** The header names a Vary header lists, lower-cased. */
export function varyNames(header: string | null): string[] {
  return (header ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * RFC 9111 sections 3 and 3.5, reduced to what this lab needs: may a shared cache (a CDN, a corporate proxy)
 * store this response and serve it to other clients?
 */
export function sharedCacheMayStore(cacheControl: string | null, requestHadAuthorization: boolean): boolean {
  const cc = directives(cacheControl);
  if (cc.has("no-store") || cc.has("private")) return false;
  if (requestHadAuthorization) return cc.has("public") || cc.has("s-maxage") || cc.has("must-revalidate");
  return true;
}

/** `"abc"` and `W/"abc"`: the two forms of an entity tag. */
export const etagSyntax = /^(W\/)?"[^"]*"$/;

/** The same opaque tag, with the weakness flipped: what a proxy that weakens or a client that strips sends. */
export function flipWeakness(etag: string): string {
  return etag.startsWith("W/") ? etag.slice(2) : `W/${etag}`;
}
