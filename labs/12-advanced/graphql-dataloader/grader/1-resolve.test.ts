import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import { type AuthorRow, got, gql, storedAuthors } from "./helpers.ts";

const catalogQuery = `{
  authors {
    id
    name
    books { id title reviews { id rating body } }
  }
}`;

task(1, "Resolve authors, books and reviews from Postgres", () => {
  it("authors returns the first 50 authors by id, each with its books and their reviews, in id order", async () => {
    const reply = await gql<{ authors: AuthorRow[] }>(catalogQuery);
    expect(reply.errors, `the catalog query must run without errors (${got(reply)})`).toBeUndefined();
    expect(reply.status, `a query that ran answers 200 (${got(reply)})`).toBe(200);
    const authors = reply.data?.authors ?? [];
    const expected = await storedAuthors(50);
    expect(
      authors.length,
      "authors without `first` returns 50 authors (first defaults to 50), ordered by id",
    ).toBe(50);
    expect(
      authors.map((author) => author.id),
      "authors are ordered by id, and ids are the bigint ids as strings (GraphQL's ID type)",
    ).toEqual(expected.map((author) => author.id));
    for (const [i, author] of authors.entries()) {
      expect(
        author,
        `author ${expected[i]!.id} must hold exactly its own books (by books.author_id, ordered by id; [] for an ` +
          "author without books), each with exactly its own reviews (ordered by id; [] for none)",
      ).toEqual(expected[i]);
    }
  });

  it("author(id) and book(id) resolve one row with its relations; an unknown id is null", async () => {
    const { rows } = await postgres().query<{ id: string; author_id: string }>(
      `SELECT b.id::text, b.author_id::text FROM books b
        WHERE (SELECT count(*) FROM reviews r WHERE r.book_id = b.id) >= 2
        ORDER BY b.id LIMIT 1`,
    );
    const book = rows[0]!;
    const reply = await gql<{
      book: {
        id: string;
        author: { id: string; name: string };
        reviews: { id: string; book: { id: string } }[];
      };
      author: AuthorRow | null;
      missingBook: unknown;
      missingAuthor: unknown;
    }>(
      `query ($book: ID!, $author: ID!) {
        book(id: $book) { id author { id name } reviews { id book { id } } }
        author(id: $author) { id name books { id title reviews { id rating body } } }
        missingBook: book(id: "987654321") { id }
        missingAuthor: author(id: "987654321") { id }
      }`,
      { book: book.id, author: book.author_id },
    );
    expect(reply.errors, `these fields must resolve without errors (${got(reply)})`).toBeUndefined();
    const expectedAuthor = (await storedAuthors(1_000)).find((author) => author.id === book.author_id)!;
    expect(reply.data?.book.id, `book(id: "${book.id}") must return that book`).toBe(book.id);
    expect(reply.data?.book.author, "Book.author is the author the book's author_id points to").toEqual({
      id: expectedAuthor.id,
      name: expectedAuthor.name,
    });
    const expectedReviews = expectedAuthor.books.find((b) => b.id === book.id)!.reviews;
    expect(
      reply.data?.book.reviews,
      "Book.reviews lists the book's reviews by id, and Review.book leads back to the same book",
    ).toEqual(expectedReviews.map((review) => ({ id: review.id, book: { id: book.id } })));
    expect(
      reply.data?.author,
      `author(id: "${book.author_id}") must return that author with its books`,
    ).toEqual(expectedAuthor);
    expect(
      { missingBook: reply.data?.missingBook, missingAuthor: reply.data?.missingAuthor },
      "an id with no row is not an error: book(id) and author(id) are nullable and answer null",
    ).toEqual({ missingBook: null, missingAuthor: null });
  });

  it("authors(first) returns that many authors and refuses a first above 100", async () => {
    const three = await gql<{ authors: { id: string }[] }>("{ authors(first: 3) { id } }");
    expect(
      three.data?.authors.map((author) => author.id),
      `authors(first: 3) returns the first 3 authors by id (${got(three)})`,
    ).toEqual((await storedAuthors(3)).map((author) => author.id));

    const tooMany = await gql<{ authors: unknown }>("{ authors(first: 101) { id } }");
    expect(
      tooMany.errors?.[0]?.message,
      "authors(first: 101) must fail with an error whose message mentions `first`: a list field without a cap " +
        `lets one request read the whole table (${got(tooMany)})`,
    ).toMatch(/first/i);
    expect(
      tooMany.data,
      "a refused authors field leaves no data (it is non-null, so data is null)",
    ).toBeNull();
  });
});
