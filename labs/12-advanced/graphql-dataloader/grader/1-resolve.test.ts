import { expect, it } from "vitest";
import { got, postgres, task } from "@backend-labs/graders";
import {
  type AuthorRow,
  createAuthorStoredOutOfOrder,
  errorsOf,
  expectGraphQLError,
  gql,
  storedAuthors,
} from "./helpers.ts";

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
    expect(errorsOf(reply), `the catalog query must run without errors`).toEqual([]);
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
    expect(errorsOf(reply), `these fields must resolve without errors`).toEqual([]);
    const expectedAuthor = (await storedAuthors(1_000)).find((author) => author.id === book.author_id)!;
    expect(reply.data?.book?.id, `book(id: "${book.id}") must return that book (${got(reply)})`).toBe(
      book.id,
    );
    expect(reply.data?.book?.author, "Book.author is the author the book's author_id points to").toEqual({
      id: expectedAuthor.id,
      name: expectedAuthor.name,
    });
    const expectedReviews = expectedAuthor.books.find((b) => b.id === book.id)!.reviews;
    expect(
      reply.data?.book?.reviews,
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

  it("authors(first) returns that many authors by id, from 0 up to 100, and refuses a first below 0 or above 100", async () => {
    // An UPDATE writes a new version of the row after the others: from now on Postgres reads author 1 last
    // unless the query asks for ORDER BY id.
    await postgres().query(
      "UPDATE authors SET name = name WHERE id = (SELECT id FROM authors ORDER BY id LIMIT 1)",
    );
    const three = await gql<{ authors: { id: string }[] }>("{ authors(first: 3) { id } }");
    expect(errorsOf(three), `authors(first: 3) must run without errors`).toEqual([]);
    expect(
      three.data?.authors.map((author) => author.id),
      "authors(first: 3) returns the first 3 authors by id. Without ORDER BY id, LIMIT takes whichever rows " +
        `Postgres reads first, and an updated row is read last (${got(three)})`,
    ).toEqual((await storedAuthors(3)).map((author) => author.id));

    const hundred = await gql<{ authors: { id: string }[] }>("{ authors(first: 100) { id } }");
    expect(
      errorsOf(hundred),
      `authors(first: 100) must run without errors: only a first above 100 is refused`,
    ).toEqual([]);
    expect(
      hundred.data?.authors.map((author) => author.id),
      "authors(first: 100) returns the first 100 authors by id (all of them, while there are fewer)",
    ).toEqual((await storedAuthors(100)).map((author) => author.id));

    const none = await gql<{ authors: { id: string }[] }>("{ authors(first: 0) { id } }");
    expect(
      errorsOf(none),
      "authors(first: 0) must run without errors: 0 is in range (only a first below 0 or above 100 is refused)",
    ).toEqual([]);
    expect(
      none.data?.authors,
      `authors(first: 0) asks for the first 0 authors: an empty list (${got(none)})`,
    ).toEqual([]);

    const tooMany = await gql<{ authors: unknown }>("{ authors(first: 101) { id } }");
    expectGraphQLError(
      tooMany,
      "authors(first: 101)",
      /first/i,
      "`first` (a list field without a cap lets one request read the whole table)",
    );
    expect(
      tooMany.data,
      `a refused authors field leaves no data (it is non-null, so data is null) (${got(tooMany)})`,
    ).toBeNull();

    const negative = await gql<{ authors: unknown }>("{ authors(first: -1) { id } }");
    expectGraphQLError(
      negative,
      "authors(first: -1)",
      /first/i,
      "`first`: check the argument before it reaches SQL (Postgres's own complaint about a negative LIMIT " +
        "does not tell the client which argument was wrong)",
    );
    expect(
      negative.data,
      `a refused authors field leaves no data (it is non-null, so data is null) (${got(negative)})`,
    ).toBeNull();
  });

  it("Author.books and Book.reviews are ordered by id, whatever order the rows are stored in", async () => {
    const author = await createAuthorStoredOutOfOrder("ordered");
    const reply = await gql<{
      author: { books: { id: string; title: string; reviews: { id: string; body: string }[] }[] } | null;
    }>("query ($id: ID!) { author(id: $id) { books { id title reviews { id body } } } }", {
      id: author.id,
    });
    expect(errorsOf(reply), `author(id: "${author.id}") must resolve without errors`).toEqual([]);
    const books = reply.data?.author?.books;
    expect(
      books?.map((book) => book.id),
      `author ${author.id}'s books were stored in the order of ids ${author.books[2]!.id}, ${author.books[0]!.id}, ` +
        `${author.books[1]!.id}. Author.books lists them by id: the books-by-author batch needs ORDER BY id ` +
        `(${got(reply)})`,
    ).toEqual(author.books.map((book) => book.id));
    const reviews = author.books[0]!.reviews;
    expect(
      books?.[0]?.reviews,
      `book ${author.books[0]!.id}'s reviews were stored in the order of ids ${reviews[2]!.id}, ${reviews[0]!.id}, ` +
        `${reviews[1]!.id}. Book.reviews lists them by id: the reviews-by-book batch needs ORDER BY id`,
    ).toEqual(reviews);
  });
});
