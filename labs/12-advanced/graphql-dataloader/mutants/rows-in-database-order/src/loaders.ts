import DataLoader from "dataloader";
import { pool } from "./db.ts";

export interface Author {
  id: string;
  name: string;
}

export interface Book {
  id: string;
  authorId: string;
  title: string;
}

export interface Review {
  id: string;
  bookId: string;
  rating: number;
  body: string;
}

/** The loaders of ONE request: they cache what that request has read, so they must never outlive it. */
export interface Loaders {
  authorById: DataLoader<string, Author | null>;
  bookById: DataLoader<string, Book | null>;
  booksByAuthorId: DataLoader<string, Book[]>;
  reviewsByBookId: DataLoader<string, Review[]>;
}

/** A bigint id as GraphQL sends it: digits, no sign, no leading zero, below 2^63. */
export const idPattern = /^[1-9][0-9]{0,17}$/;

/**
 * The keys that can match a row. Anything else ("abc", "-1") would make `::bigint[]` fail the whole
 * statement, and with it every other key of the batch; such a key simply finds nothing.
 */
function queryableIds(keys: readonly string[]): string[] {
  return keys.filter((key) => idPattern.test(key));
}

/** One answer per key, in the order of the keys; null for a key without a row. */
function byKey<T extends { id: string }>(keys: readonly string[], rows: T[]): (T | null)[] {
  return keys.map((_key, i) => rows[i] ?? null);
}

/** One list per key, in the order of the keys; [] for a key without rows. Rows keep the SQL's order. */
function groupedByKey<T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string): T[][] {
  const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}

async function loadAuthors(keys: readonly string[]): Promise<(Author | null)[]> {
  const { rows } = await pool.query<Author>("SELECT id, name FROM authors WHERE id = ANY($1::bigint[])", [
    queryableIds(keys),
  ]);
  return byKey(keys, rows);
}

async function loadBooks(keys: readonly string[]): Promise<(Book | null)[]> {
  const { rows } = await pool.query<Book>(
    `SELECT id, author_id AS "authorId", title FROM books WHERE id = ANY($1::bigint[])`,
    [queryableIds(keys)],
  );
  return byKey(keys, rows);
}

async function loadBooksOfAuthors(authorIds: readonly string[]): Promise<Book[][]> {
  const { rows } = await pool.query<Book>(
    `SELECT id, author_id AS "authorId", title FROM books WHERE author_id = ANY($1::bigint[]) ORDER BY id`,
    [queryableIds(authorIds)],
  );
  return groupedByKey(authorIds, rows, (book) => book.authorId);
}

async function loadReviewsOfBooks(bookIds: readonly string[]): Promise<Review[][]> {
  const { rows } = await pool.query<Review>(
    `SELECT id, book_id AS "bookId", rating, body FROM reviews WHERE book_id = ANY($1::bigint[]) ORDER BY id`,
    [queryableIds(bookIds)],
  );
  return groupedByKey(bookIds, rows, (review) => review.bookId);
}

/** Fresh loaders, with empty caches: call once per request. */
export function createLoaders(): Loaders {
  return {
    authorById: new DataLoader(loadAuthors),
    bookById: new DataLoader(loadBooks),
    booksByAuthorId: new DataLoader(loadBooksOfAuthors),
    reviewsByBookId: new DataLoader(loadReviewsOfBooks),
  };
}
