import { expect, it } from "vitest";
import { got, postgres, task } from "@backend-labs/graders";
import { type AuthorRow, countStatements, errorsOf, gql, storedAuthors, type Table } from "./helpers.ts";

/** What a statement count of `n` on `table` means, for the assertion messages. */
function explain(table: Table, n: number, field: string, batch: string): string {
  if (n === 0) {
    return (
      `no SQL statement read ${table}, yet the answer holds its rows: they came from a cache that outlived an ` +
      "earlier request. Create the loaders per request"
    );
  }
  return (
    `${n} SQL statements read ${table}: ${field} ran its own query each time (the N+1 problem). ` +
    `Load it through a DataLoader created for the request, whose batch function reads every key of the batch ` +
    `in one statement (${batch})`
  );
}

task(2, "Batch each level: no N+1", () => {
  it("50 authors with their books and reviews: one SQL statement per table", async () => {
    const { result: reply, statements } = await countStatements(["authors", "books", "reviews"], () =>
      gql<{ authors: AuthorRow[] }>(
        "{ authors(first: 50) { id name books { id title reviews { id rating body } } } }",
      ),
    );
    expect(errorsOf(reply), `the query must run without errors`).toEqual([]);
    expect(
      reply.data?.authors,
      "the answer must still be right while batching: the first 50 authors by id, each with exactly its own " +
        "books and their reviews, both ordered by id",
    ).toEqual(await storedAuthors(50));
    expect(
      statements.authors,
      statements.authors === 0
        ? "no SQL statement read authors, yet the answer holds 50 authors: authors(first) answered from a cache " +
            "that outlived an earlier request, so it misses every author added or changed since. Read the page " +
            "from Postgres in every request"
        : `${statements.authors} SQL statements read authors: authors(first: 50) reads its page with one ` +
            "statement, and nothing else in this query needs the authors table",
    ).toBe(1);
    expect(
      statements.books,
      explain("books", statements.books, "Author.books", "WHERE author_id = ANY($1)"),
    ).toBe(1);
    expect(
      statements.reviews,
      explain("reviews", statements.reviews, "Book.reviews", "WHERE book_id = ANY($1)"),
    ).toBe(1);
  });

  it("12 book(id) fields with their authors in one request: one statement on books, one on authors", async () => {
    const { rows } = await postgres().query<{ id: string; author_id: string; title: string; name: string }>(
      `SELECT b.id::text, b.author_id::text, b.title, a.name
         FROM books b JOIN authors a ON a.id = b.author_id
        WHERE b.author_id <= 24 ORDER BY b.id DESC LIMIT 12`,
    );
    const fields = rows.map((book, i) => `b${i}: book(id: "${book.id}") { id title author { id name } }`);
    const { result: reply, statements } = await countStatements(["authors", "books"], () =>
      gql<Record<string, unknown>>(`{ ${fields.join("\n")} }`),
    );
    expect(errorsOf(reply), `the query must run without errors`).toEqual([]);
    rows.forEach((book, i) => {
      expect(
        reply.data?.[`b${i}`],
        `alias b${i}: book(id: "${book.id}") must return that book and its author. A batch function answers ` +
          "in the order of the keys it was given, whatever order the rows came back in",
      ).toEqual({
        id: book.id,
        title: book.title,
        author: { id: book.author_id, name: book.name },
      });
    });
    expect(
      statements.books,
      explain("books", statements.books, "each root book(id) field", "WHERE id = ANY($1)"),
    ).toBe(1);
    expect(
      statements.authors,
      explain("authors", statements.authors, "Book.author", "WHERE id = ANY($1)"),
    ).toBe(1);
  });

  it("every review's book, for 50 authors: Review.book reads books with one statement for its level", async () => {
    const { result: reply, statements } = await countStatements(["books"], () =>
      gql<{ authors: { books: { id: string; title: string; reviews: { book: unknown }[] }[] }[] }>(
        "{ authors(first: 50) { books { id title reviews { id book { id title } } } } }",
      ),
    );
    expect(errorsOf(reply), `the query must run without errors`).toEqual([]);
    const books = (reply.data?.authors ?? []).flatMap((author) => author.books);
    const reviewCount = books.reduce((sum, book) => sum + book.reviews.length, 0);
    expect(reviewCount, `the 50 authors' books have reviews to resolve (${got(reply)})`).toBeGreaterThan(0);
    for (const book of books) {
      expect(
        book.reviews.map((review) => review.book),
        `each review of book ${book.id} leads back to that book through Review.book`,
      ).toEqual(book.reviews.map(() => ({ id: book.id, title: book.title })));
    }
    expect(
      statements.books,
      `${statements.books} SQL statements read books for ${reviewCount} reviews: Author.books is one level and ` +
        "Review.book another, so at most two statements may read books: a field ran its own query for each " +
        "parent (the N+1 problem). Review.book loads through the request's book-by-id DataLoader (WHERE id = ANY($1))",
    ).toBeLessThanOrEqual(2);
  });
});

/** Why a malformed key must find nothing, for the messages of the tests that send one. */
const malformedHelp =
  'a key that is not a positive integer ("abc"; "1e9", which Number() accepts but ::bigint does not) or is too ' +
  'large for a bigint ("99999999999999999999") must find nothing without reaching the cast: a failed ::bigint ' +
  "cast fails the statement, and with it every key of the batch";

task(3, "Answer every key in its place", () => {
  it("author(id) fields in any order, with a repeated, an unknown and malformed ids: one statement, right answers", async () => {
    // Keys the batch function receives in this order: 7, 3, 987654321, 4, abc, 50, 1e9, 9999... (the second 3
    // is deduplicated).
    const keys = ["7", "3", "987654321", "4", "abc", "3", "50", "1e9", "99999999999999999999"];
    const fields = keys.map((id, i) => `a${i}: author(id: "${id}") { id name books { id title } }`);
    const { result: reply, statements } = await countStatements(["authors", "books"], () =>
      gql<Record<string, unknown>>(`{ ${fields.join("\n")} }`),
    );
    const stored = new Map((await storedAuthors(60)).map((author) => [author.id, author]));
    expect(
      errorsOf(reply),
      `no field may fail: a key without a row answers null, and ${malformedHelp}. Also check your batch ` +
        `function returns exactly one entry per key`,
    ).toEqual([]);
    keys.forEach((id, i) => {
      const author = stored.get(id);
      expect(
        reply.data?.[`a${i}`],
        author
          ? `alias a${i}: author(id: "${id}") must be author ${id} with its own books. A batch function must return ` +
              "its answers in the order of the keys it was given, not in the order the rows came back"
          : `alias a${i}: author(id: "${id}") has no row and must be null`,
      ).toEqual(
        author
          ? { id, name: author.name, books: author.books.map((book) => ({ id: book.id, title: book.title })) }
          : null,
      );
    });
    expect(
      statements.authors,
      explain("authors", statements.authors, "author(id)", "WHERE id = ANY($1)"),
    ).toBe(1);
    expect(
      statements.books,
      explain("books", statements.books, "Author.books", "WHERE author_id = ANY($1)"),
    ).toBe(1);
  });

  it("book(id) fields with a repeated, an unknown and malformed ids: one statement, right answers", async () => {
    const { rows } = await postgres().query<{ id: string; title: string }>(
      "SELECT id::text, title FROM books WHERE author_id <= 30 ORDER BY id DESC LIMIT 3",
    );
    const [first, second, third] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    const keys = [
      second.id,
      "abc",
      third.id,
      "987654321",
      "1e9",
      second.id,
      "99999999999999999999",
      first.id,
    ];
    const fields = keys.map((id, i) => `b${i}: book(id: "${id}") { id title }`);
    const { result: reply, statements } = await countStatements(["books"], () =>
      gql<Record<string, unknown>>(`{ ${fields.join("\n")} }`),
    );
    expect(
      errorsOf(reply),
      `no field may fail: every batch function answers each key, and in the book-by-id batch too, ${malformedHelp}`,
    ).toEqual([]);
    const stored = new Map(rows.map((book) => [book.id, book]));
    keys.forEach((id, i) => {
      const book = stored.get(id);
      expect(
        reply.data?.[`b${i}`],
        book
          ? `alias b${i}: book(id: "${id}") must be book ${id}. A batch function answers in the order of its keys`
          : `alias b${i}: book(id: "${id}") has no row and must be null`,
      ).toEqual(book ? { id: book.id, title: book.title } : null);
    });
    expect(
      statements.books,
      explain("books", statements.books, "each root book(id) field", "WHERE id = ANY($1)"),
    ).toBe(1);
  });
});
