import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import { type AuthorRow, countStatements, got, gql, storedAuthors, type Table } from "./helpers.ts";

/** What a statement count of `n` on `table` means, for the assertion messages. */
function explain(table: Table, n: number, field: string, batch: string): string {
  if (n === 0) {
    return (
      `no SQL statement read ${table}, yet the answer holds its rows: they came from a cache that outlived an ` +
      "earlier request. Create the loaders per request"
    );
  }
  return (
    `${n} SQL statements read ${table}: ${field} ran its own query for each parent (the N+1 problem). ` +
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
    expect(reply.errors, `the query must run without errors (${got(reply)})`).toBeUndefined();
    expect(reply.data?.authors, "the answer must still be right while batching").toEqual(
      await storedAuthors(50),
    );
    expect(statements.authors, "the authors field reads the 50 authors with one statement").toBe(1);
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
    expect(reply.errors, `the query must run without errors (${got(reply)})`).toBeUndefined();
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
});

task(3, "Answer every key in its place", () => {
  it("author(id) fields in any order, with a repeated, an unknown and a malformed id: one statement, right answers", async () => {
    // Keys the batch function receives in this order: 7, 3, 987654321, 4, abc, 50 (the second 3 is deduplicated).
    const keys = ["7", "3", "987654321", "4", "abc", "3", "50"];
    const fields = keys.map((id, i) => `a${i}: author(id: "${id}") { id name books { id title } }`);
    const { result: reply, statements } = await countStatements(["authors", "books"], () =>
      gql<Record<string, unknown>>(`{ ${fields.join("\n")} }`),
    );
    const stored = new Map((await storedAuthors(60)).map((author) => [author.id, author]));
    expect(
      reply.errors,
      'no field may fail: a key without a row answers null, and a malformed key like "abc" must not make the ' +
        "batch's SQL fail (an invalid ::bigint cast fails the statement, and with it every key of the batch). " +
        `Also check your batch function returns exactly one entry per key (${got(reply)})`,
    ).toBeUndefined();
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
});
