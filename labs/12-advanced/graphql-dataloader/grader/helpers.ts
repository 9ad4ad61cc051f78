// Shared by the grader files: GraphQL requests to the learner's server, the catalog as stored in Postgres
// (read as the superuser, independently of the learner's code), and a way to count the learner's SQL
// statements from the database's side.
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { expect } from "vitest";
import { got, gradingContext, learner, type LearnerInstance, postgres, uid } from "@backend-labs/graders";

export interface GraphQLReply<T> {
  status: number;
  data: T | null | undefined;
  errors: { message: string; path?: (string | number)[] }[] | undefined;
  text: string;
}

/** POSTs one GraphQL request to /graphql. */
export async function gql<T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
  instance: LearnerInstance = learner(),
): Promise<GraphQLReply<T>> {
  const response = await instance.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(variables ? { query, variables } : { query }),
  });
  const text = await response.text();
  let body: { data?: T | null; errors?: GraphQLReply<T>["errors"] } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not JSON: the assertions show the text.
  }
  return { status: response.status, data: body.data, errors: body.errors, text };
}

/** The GraphQL errors of a reply, one line each ("a3: message"), for "must run without errors" checks. */
export function errorsOf(reply: GraphQLReply<unknown>): string[] {
  return (reply.errors ?? []).map((error) =>
    error.path ? `${error.path.join(".")}: ${error.message}` : error.message,
  );
}

/**
 * Asserts that `request` failed with a GraphQL error whose message matches `pattern`: first that there is an
 * error at all (so a request that wrongly succeeded says so), then what it mentions.
 */
export function expectGraphQLError(
  reply: GraphQLReply<unknown>,
  request: string,
  pattern: RegExp,
  mention: string,
): void {
  const message = reply.errors?.[0]?.message;
  expect(
    message,
    `${request} must fail with a GraphQL error (throw an Error from the resolver), but the response carries ` +
      `no error (${got(reply)})`,
  ).toBeTypeOf("string");
  expect(
    message,
    `${request} must fail with an error whose message mentions ${mention} (${got(reply)})`,
  ).toMatch(pattern);
}

export interface ReviewRow {
  id: string;
  rating: number;
  body: string;
}

export interface BookRow {
  id: string;
  title: string;
  reviews: ReviewRow[];
}

export interface AuthorRow {
  id: string;
  name: string;
  books: BookRow[];
}

/** The first `first` authors by id with their books and reviews, as the README says the API returns them. */
export async function storedAuthors(first: number): Promise<AuthorRow[]> {
  const db = postgres();
  const { rows: authors } = await db.query<{ id: string; name: string }>(
    "SELECT id::text, name FROM authors ORDER BY authors.id LIMIT $1",
    [first],
  );
  const ids = authors.map((author) => author.id);
  const { rows: books } = await db.query<{ id: string; author_id: string; title: string }>(
    "SELECT id::text, author_id::text, title FROM books WHERE author_id = ANY($1::bigint[]) ORDER BY books.id",
    [ids],
  );
  const { rows: reviews } = await db.query<ReviewRow & { book_id: string }>(
    "SELECT id::text, book_id::text, rating, body FROM reviews WHERE book_id = ANY($1::bigint[]) ORDER BY reviews.id",
    [books.map((book) => book.id)],
  );
  return authors.map((author) => ({
    ...author,
    books: books
      .filter((book) => book.author_id === author.id)
      .map((book) => ({
        id: book.id,
        title: book.title,
        reviews: reviews
          .filter((review) => review.book_id === book.id)
          .map(({ id, rating, body }) => ({ id, rating, body })),
      })),
  }));
}

/** An author of this test's own, with books, written directly to the database. */
export async function createAuthor(
  label: string,
  bookTitles: string[],
): Promise<{ id: string; name: string; bookIds: string[] }> {
  const name = uid(label);
  const { rows } = await postgres().query<{ id: string }>(
    "INSERT INTO authors (name) VALUES ($1) RETURNING id::text",
    [name],
  );
  const id = rows[0]!.id;
  const bookIds: string[] = [];
  for (const title of bookTitles) {
    const { rows: book } = await postgres().query<{ id: string }>(
      "INSERT INTO books (author_id, title) VALUES ($1, $2) RETURNING id::text",
      [id, title],
    );
    bookIds.push(book[0]!.id);
  }
  return { id, name, bookIds };
}

/** `n` new ids of `table`, taken from its identity sequence, ascending. */
async function nextIds(table: "books" | "reviews", n: number): Promise<string[]> {
  const { rows } = await postgres().query<{ id: string }>(
    `SELECT nextval(pg_get_serial_sequence($1, 'id'))::text AS id FROM generate_series(1, $2)`,
    [table, n],
  );
  return rows.map((row) => row.id).sort((a, b) => Number(a) - Number(b));
}

/**
 * An author whose rows are stored out of id order: three books written to the table in the order of ids
 * 3, 1, 2 (of the three), and three reviews of its lowest-id book written likewise. Postgres returns rows
 * without ORDER BY in the order they are stored, so only an ORDER BY id lists them by id.
 */
export async function createAuthorStoredOutOfOrder(label: string): Promise<{
  id: string;
  name: string;
  books: { id: string; title: string; reviews: { id: string; body: string }[] }[];
}> {
  const author = await createAuthor(label, []);
  const bookIds = await nextIds("books", 3);
  const books = bookIds.map((id, i) => ({ id, title: `${label} volume ${i + 1}` }));
  const written = [books[2]!, books[0]!, books[1]!];
  await postgres().query(
    `INSERT INTO books (id, author_id, title) OVERRIDING SYSTEM VALUE
     SELECT id, $1, title FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS b(id, title, n) ORDER BY n`,
    [author.id, written.map((book) => book.id), written.map((book) => book.title)],
  );
  const reviewIds = await nextIds("reviews", 3);
  const reviews = reviewIds.map((id, i) => ({ id, body: `${label} review ${i + 1}` }));
  const writtenReviews = [reviews[2]!, reviews[0]!, reviews[1]!];
  await postgres().query(
    `INSERT INTO reviews (id, book_id, rating, body) OVERRIDING SYSTEM VALUE
     SELECT id, $1, 3, body FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS r(id, body, n) ORDER BY n`,
    [books[0]!.id, writtenReviews.map((review) => review.id), writtenReviews.map((review) => review.body)],
  );
  return {
    ...author,
    books: books.map((book, i) => ({ ...book, reviews: i === 0 ? reviews : [] })),
  };
}

export async function storedReviews(bookId: string): Promise<ReviewRow[]> {
  const { rows } = await postgres().query<ReviewRow>(
    "SELECT id::text, rating, body FROM reviews WHERE book_id = $1 ORDER BY reviews.id",
    [bookId],
  );
  return rows;
}

/** The number of rows of a table; for "nothing was written" checks. */
export async function rowCount(table: "authors" | "books" | "reviews"): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

export type Table = "authors" | "books" | "reviews";

/**
 * Counts, from Postgres's side, the learner's SQL statements that read one table.
 *
 * The grader holds ACCESS EXCLUSIVE on the table, so every statement of the learner that touches it queues
 * for its ACCESS SHARE lock (a statement takes it once, when it is parsed) and shows up in pg_locks as not
 * granted. To let the queued statements through without letting anyone slip by uncounted, a second grader
 * session asks for the lock too: it queues behind them, and every statement that arrives later queues behind
 * it (Postgres makes a new request wait behind a queued conflicting one). The statements ahead of it are the
 * ones not blocked by it (pg_blocking_pids), and those are counted. Then the first session commits, they run,
 * the second session gets the lock, and the two sessions swap roles.
 */
class TableGate {
  readonly table: Table;
  statements = 0;
  private readonly sessions: pg.Client[];
  private readonly pids: number[];
  private holder = 0;

  private constructor(table: Table, sessions: pg.Client[], pids: number[]) {
    this.table = table;
    this.sessions = sessions;
    this.pids = pids;
  }

  static async shut(table: Table): Promise<TableGate> {
    const url = gradingContext().services.postgres!.adminUrl;
    const sessions = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
    await Promise.all(sessions.map((session) => session.connect()));
    const pids = await Promise.all(
      sessions.map(
        async (session) =>
          (await session.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid,
      ),
    );
    await sessions[0]!.query("BEGIN");
    await sessions[0]!.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return new TableGate(table, sessions, pids);
  }

  /** Learner sessions queued on the table; with `aheadOf`, only those queued before that session. */
  private async queued(aheadOf?: number): Promise<number> {
    const { rows } = await postgres().query<{ n: number }>(
      `SELECT count(*)::int AS n
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'relation' AND l.relation = $1::regclass AND NOT l.granted
          AND a.usename <> current_user
          AND ($2::int IS NULL OR NOT ($2::int = ANY (pg_blocking_pids(l.pid))))`,
      [this.table, aheadOf ?? null],
    );
    return rows[0]!.n;
  }

  private async isQueued(pid: number): Promise<boolean> {
    const { rows } = await postgres().query<{ queued: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks
                       WHERE pid = $1 AND locktype = 'relation' AND relation = $2::regclass AND NOT granted) AS queued`,
      [pid, this.table],
    );
    return rows[0]!.queued;
  }

  /** Lets the statements queued now through, counting them; later ones stay queued. */
  private async admitQueued(): Promise<void> {
    const holder = this.sessions[this.holder]!;
    const next = this.sessions[1 - this.holder]!;
    const nextPid = this.pids[1 - this.holder]!;
    await next.query("BEGIN");
    const locked = next.query(`LOCK TABLE ${this.table} IN ACCESS EXCLUSIVE MODE`);
    locked.catch(() => undefined);
    const deadline = Date.now() + 3_000;
    while (!(await this.isQueued(nextPid))) {
      if (Date.now() > deadline) throw new Error(`grader: could not queue a lock on ${this.table}`);
      await sleep(2);
    }
    this.statements += await this.queued(nextPid);
    await holder.query("COMMIT");
    await locked;
    this.holder = 1 - this.holder;
  }

  /** Admits and counts queued statements until `done` settles. */
  async watch(done: Promise<unknown>): Promise<void> {
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      if ((await this.queued()) > 0) await this.admitQueued();
      else await sleep(5);
    }
  }

  /** Lets everything through and ends the gate's sessions; safe to call twice. */
  async open(): Promise<void> {
    const sessions = this.sessions.splice(0);
    await Promise.all(sessions.map((session) => session.end().catch(() => undefined)));
  }
}

/**
 * Runs `run` (requests to the learner's server) while counting, per table, the SQL statements the learner's
 * code ran against it. Nothing else may read those tables meanwhile.
 */
export async function countStatements<T>(
  tables: Table[],
  run: () => Promise<T>,
): Promise<{ result: T; statements: Record<Table, number> }> {
  const gates = await Promise.all(tables.map((table) => TableGate.shut(table)));
  const openAll = () => Promise.all(gates.map((gate) => gate.open()));
  try {
    const running = run();
    // If counting breaks, let the learner's statements through rather than leave them waiting forever.
    const watching = Promise.all(gates.map((gate) => gate.watch(running))).catch(async (error: unknown) => {
      await openAll();
      throw error;
    });
    const [outcome] = await Promise.allSettled([running]);
    await watching;
    if (outcome.status === "rejected") throw outcome.reason;
    const statements = { authors: 0, books: 0, reviews: 0 };
    for (const gate of gates) statements[gate.table] = gate.statements;
    return { result: outcome.value, statements };
  } finally {
    await openAll();
  }
}
