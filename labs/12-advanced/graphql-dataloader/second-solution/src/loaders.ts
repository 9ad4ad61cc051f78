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

const maxBigint = 9223372036854775807n;

/**
 * The canonical form of an id ("7" for "7" and "007"), or undefined when the value cannot be a row id: not
 * a positive integer that fits in bigint. Such keys find nothing, without reaching Postgres.
 */
export function toId(value: string): string | undefined {
  if (!/^\d{1,19}$/.test(value)) return undefined;
  const id = BigInt(value);
  return id >= 1n && id <= maxBigint ? id.toString() : undefined;
}

type BatchFn<V> = (ids: string[]) => Promise<Map<string, V>>;

/**
 * A hand-written per-request batching loader. load() calls made while the current batch is still being
 * collected (every call up to the next turn of the event loop) are answered by ONE call of the batch function.
 * Each answer is cached by canonical id for as long as the loader lives: that is one request.
 */
export class BatchLoader<V> {
  readonly #batch: BatchFn<V>;
  readonly #missing: () => V;
  readonly #cache = new Map<string, Promise<V>>();
  #pending: { id: string; resolve: (value: V) => void; reject: (error: unknown) => void }[] = [];
  #scheduled = false;

  constructor(batch: BatchFn<V>, missing: () => V) {
    this.#batch = batch;
    this.#missing = missing;
  }

  load(key: string): Promise<V> {
    const id = toId(String(key));
    if (id === undefined) return Promise.resolve(this.#missing());
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const promise = new Promise<V>((resolve, reject) => {
      this.#pending.push({ id, resolve, reject });
    });
    this.#cache.set(id, promise);
    if (!this.#scheduled) {
      this.#scheduled = true;
      // After every microtask of this turn: graphql-js calls a level's resolvers across many promise hops.
      setImmediate(() => void this.#dispatch());
    }
    return promise;
  }

  /** Seeds the cache with a value already read (e.g. authors from the authors list). */
  prime(key: string, value: V): void {
    const id = toId(String(key));
    if (id !== undefined && !this.#cache.has(id)) this.#cache.set(id, Promise.resolve(value));
  }

  /** Forgets one key: its next load() reads Postgres again. */
  clear(key: string): void {
    const id = toId(String(key));
    if (id !== undefined) this.#cache.delete(id);
  }

  async #dispatch(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    const ids = [...new Set(batch.map((entry) => entry.id))];
    try {
      const found = await this.#batch(ids);
      for (const entry of batch) entry.resolve(found.has(entry.id) ? found.get(entry.id)! : this.#missing());
    } catch (error) {
      for (const entry of batch) {
        // A failed read is not cached: a later load() may try again.
        if (this.#cache.get(entry.id) !== undefined) this.#cache.delete(entry.id);
        entry.reject(error);
      }
    }
  }
}

/** The loaders of ONE request. */
export interface Loaders {
  authorById: BatchLoader<Author | null>;
  bookById: BatchLoader<Book | null>;
  booksByAuthorId: BatchLoader<Book[]>;
  reviewsByBookId: BatchLoader<Review[]>;
}

const bookColumns = `id, author_id AS "authorId", title`;
const reviewColumns = `id, book_id AS "bookId", rating, body`;

function byId<T extends { id: string }>(rows: T[]): Map<string, T> {
  return new Map(rows.map((row) => [row.id, row]));
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(key(row));
    if (group) group.push(row);
    else groups.set(key(row), [row]);
  }
  return groups;
}

export function createLoaders(): Loaders {
  return {
    authorById: new BatchLoader<Author | null>(
      async (ids) => {
        const { rows } = await pool.query<Author>(
          "SELECT id, name FROM authors WHERE id = ANY($1::bigint[])",
          [ids],
        );
        return byId(rows);
      },
      () => null,
    ),
    bookById: new BatchLoader<Book | null>(
      async (ids) => {
        const { rows } = await pool.query<Book>(
          `SELECT ${bookColumns} FROM books WHERE id = ANY($1::bigint[])`,
          [ids],
        );
        return byId(rows);
      },
      () => null,
    ),
    booksByAuthorId: new BatchLoader<Book[]>(
      async (ids) => {
        const { rows } = await pool.query<Book>(
          `SELECT ${bookColumns} FROM books WHERE author_id = ANY($1::bigint[]) ORDER BY id`,
          [ids],
        );
        return groupBy(rows, (book) => book.authorId);
      },
      () => [],
    ),
    reviewsByBookId: new BatchLoader<Review[]>(
      async (ids) => {
        const { rows } = await pool.query<Review>(
          `SELECT ${reviewColumns} FROM reviews WHERE book_id = ANY($1::bigint[]) ORDER BY id`,
          [ids],
        );
        return groupBy(rows, (review) => review.bookId);
      },
      () => [],
    ),
  };
}
