import { expect, it } from "vitest";
import { got, postgres, task, uid } from "@backend-labs/graders";
import {
  countStatements,
  createAuthor,
  errorsOf,
  expectGraphQLError,
  gql,
  type GraphQLReply,
  rowCount,
  storedAuthors,
  storedReviews,
} from "./helpers.ts";

interface Snapshot {
  author: { name: string; books: { title: string }[] } | null;
  book: { title: string; reviews: { body: string }[] } | null;
  authors: { id: string; name: string }[] | undefined;
}

const staleCache =
  "a DataLoader caches every key it loaded for as long as it lives, so a loader shared by requests serves " +
  "stale rows, and one user's rows to the next user. Build new loaders in createContext() for every request";

task(4, "One set of loaders per request", () => {
  it("rows changed between two requests: the second request sees every change", async () => {
    const author = await createAuthor("stale", ["The First Book"]);
    const bookId = author.bookIds[0]!;
    await postgres().query("INSERT INTO reviews (book_id, rating, body) VALUES ($1, 4, 'first review')", [
      bookId,
    ]);
    const query = `query ($id: ID!, $book: ID!) {
      author(id: $id) { name books { title } }
      book(id: $book) { title reviews { body } }
      authors(first: 90) { id name }
    }`;
    const listed = (reply: GraphQLReply<Snapshot>) =>
      reply.data?.authors?.find((entry) => entry.id === author.id) ?? "(not in the list)";

    const before = await gql<Snapshot>(query, { id: author.id, book: bookId });
    expect(errorsOf(before), `the query must run without errors`).toEqual([]);
    expect(
      before.data?.author,
      `author(id: "${author.id}") must return the new author (${got(before)})`,
    ).toEqual({
      name: author.name,
      books: [{ title: "The First Book" }],
    });
    expect(before.data?.book, `book(id: "${bookId}") must return the new book with its review`).toEqual({
      title: "The First Book",
      reviews: [{ body: "first review" }],
    });
    expect(
      listed(before),
      `authors(first: 90) must list author ${author.id}, added before this request. It answered an older list: ` +
        "the page came from a cache kept since an earlier request. Read it from Postgres in every request",
    ).toEqual({ id: author.id, name: author.name });

    // Another instance, an admin tool or a migration writes to the database between two requests.
    const renamed = uid("renamed");
    await postgres().query("UPDATE authors SET name = $2 WHERE id = $1", [author.id, renamed]);
    await postgres().query("UPDATE books SET title = 'The First Book, revised' WHERE id = $1", [bookId]);
    await postgres().query("INSERT INTO books (author_id, title) VALUES ($1, 'The Second Book')", [
      author.id,
    ]);
    await postgres().query("INSERT INTO reviews (book_id, rating, body) VALUES ($1, 2, 'second review')", [
      bookId,
    ]);

    const after = await gql<Snapshot>(query, { id: author.id, book: bookId });
    expect(errorsOf(after), `the second request must run without errors`).toEqual([]);
    expect(
      after.data?.author,
      `the second request's author(id: "${author.id}") answered with what the first request read (the old name ` +
        `or the old books): ${staleCache} (${got(after)})`,
    ).toEqual({
      name: renamed,
      books: [{ title: "The First Book, revised" }, { title: "The Second Book" }],
    });
    expect(
      after.data?.book,
      `the second request's book(id: "${bookId}") answered with what the first request read (the old title or ` +
        `the old reviews): ${staleCache}`,
    ).toEqual({
      title: "The First Book, revised",
      reviews: [{ body: "first review" }, { body: "second review" }],
    });
    expect(
      listed(after),
      `the second request's authors(first: 90) shows author ${author.id} as the first request read it: the ` +
        "page came from a cache that outlived the request. Read it from Postgres in every request",
    ).toEqual({ id: author.id, name: renamed });
  });

  it("within one request a row that several fields ask for is read once (an author, a book)", async () => {
    const author = await createAuthor("cached", ["Tome I", "Tome II", "Tome III"]);
    const { result: reply, statements } = await countStatements(["authors"], () =>
      gql<{ author: { name: string; books: { author: { name: string } }[] } | null }>(
        "query ($id: ID!) { author(id: $id) { name books { title author { name } } } }",
        { id: author.id },
      ),
    );
    expect(errorsOf(reply), `the query must run without errors`).toEqual([]);
    expect(
      reply.data?.author?.books.map((book) => book.author.name),
      `each book's author is the author we started from (${got(reply)})`,
    ).toEqual([author.name, author.name, author.name]);
    expect(
      statements.authors,
      `author ${author.id} was read by ${statements.authors} SQL statements in one request. The root field ` +
        "loaded it; Book.author must get it from the same request's loader, whose cache already holds it " +
        "(one author-by-id loader per request, shared by every field, with its cache on)",
    ).toBe(1);

    const bookId = author.bookIds[0]!;
    for (const body of ["one", "two", "three"]) {
      await postgres().query("INSERT INTO reviews (book_id, rating, body) VALUES ($1, 5, $2)", [
        bookId,
        body,
      ]);
    }
    const { result: bookReply, statements: bookStatements } = await countStatements(["books"], () =>
      gql<{ book: { title: string; reviews: { book: { title: string } }[] } | null }>(
        "query ($id: ID!) { book(id: $id) { title reviews { book { title } } } }",
        { id: bookId },
      ),
    );
    expect(errorsOf(bookReply), `the query must run without errors`).toEqual([]);
    expect(
      bookReply.data?.book?.reviews.map((review) => review.book.title),
      `each review's book is the book we started from (${got(bookReply)})`,
    ).toEqual(["Tome I", "Tome I", "Tome I"]);
    expect(
      bookStatements.books,
      `book ${bookId} was read by ${bookStatements.books} SQL statements in one request. The root field loaded ` +
        "it; Review.book must get it from the same request's book-by-id loader, whose cache already holds it",
    ).toBe(1);
  });

  it("authors(first) with each book's author: the listed authors are not read again in that request", async () => {
    const { result: reply, statements } = await countStatements(["authors"], () =>
      gql<{ authors: { id: string; name: string; books: { author: { id: string; name: string } }[] }[] }>(
        "{ authors(first: 10) { id name books { author { id name } } } }",
      ),
    );
    expect(errorsOf(reply), `the query must run without errors`).toEqual([]);
    const authors = reply.data?.authors ?? [];
    const expected = await storedAuthors(10);
    expect(
      authors.map(({ id, name }) => ({ id, name })),
      `authors(first: 10) returns the first 10 authors by id (${got(reply)})`,
    ).toEqual(expected.map(({ id, name }) => ({ id, name })));
    const withBooks = authors.filter((author) => author.books.length > 0);
    expect(
      withBooks.length,
      `the first 10 authors have books, each with an author to resolve (${got(reply)})`,
    ).toBeGreaterThan(0);
    for (const author of authors) {
      expect(
        author.books.map((book) => book.author),
        `each book of author ${author.id} leads back to that author through Book.author`,
      ).toEqual(author.books.map(() => ({ id: author.id, name: author.name })));
    }
    expect(
      statements.authors,
      `${statements.authors} SQL statements read authors in one request. authors(first: 10) read these ` +
        "authors already; Book.author asks for the same rows and must not read them again. Hand the rows the " +
        "list read to the request's author-by-id loader (DataLoader's prime(key, value)), so its cache holds them",
    ).toBe(1);
  });
});

interface AddedReview {
  addReview: { id: string; rating: number; body: string; book: { id: string; title: string } } | null;
}

const addReview = `mutation ($bookId: ID!, $rating: Int!, $body: String!) {
  addReview(bookId: $bookId, rating: $rating, body: $body) { id rating body book { id title } }
}`;

task(5, "Add reviews, and forget what a write made stale", () => {
  it("addReview stores the review and returns it, for ratings 1 to 5", async () => {
    const author = await createAuthor("reviewed", ["Reviewed Book"]);
    const bookId = author.bookIds[0]!;
    const stored: { id: string; rating: number; body: string }[] = [];
    for (const rating of [1, 5]) {
      const body = uid(`Rated ${rating}`);
      const reply = await gql<AddedReview>(addReview, { bookId, rating, body });
      expect(
        errorsOf(reply),
        `addReview with rating ${rating} on an existing book must succeed: only a rating outside 1 to 5 is ` +
          `refused`,
      ).toEqual([]);
      const rows = await storedReviews(bookId);
      expect(
        rows.slice(stored.length).map(({ rating, body }) => ({ rating, body })),
        "addReview must INSERT one row into reviews with the book_id, rating and body given",
      ).toEqual([{ rating, body }]);
      const row = rows[stored.length]!;
      expect(
        reply.data?.addReview,
        "addReview returns the stored review: its new id (the row's id as a string), rating, body and book",
      ).toEqual({ id: row.id, rating, body, book: { id: bookId, title: "Reviewed Book" } });
      stored.push(row);
    }
  });

  it("addReview refuses a rating outside 1 to 5, a blank body and a book that does not exist, writing nothing", async () => {
    const author = await createAuthor("refused", ["Refused Book"]);
    const bookId = author.bookIds[0]!;
    const attempts: {
      request: string;
      variables: Record<string, unknown>;
      pattern: RegExp;
      mention: string;
    }[] = [
      ...[0, 6].map((rating) => ({
        request: `addReview with rating ${rating}`,
        variables: { bookId, rating, body: "out of range" },
        pattern: /rating/i,
        mention: "the rating (1 to 5)",
      })),
      ...["", " \t\n "].map((body) => ({
        request: `addReview with the blank body ${JSON.stringify(body)}`,
        variables: { bookId, rating: 3, body },
        pattern: /body/i,
        mention: "the body",
      })),
      ...["987654321", "abc", "1e9", "99999999999999999999"].map((missing) => ({
        request: `addReview on book "${missing}"`,
        variables: { bookId: missing, rating: 5, body: "ghost" },
        pattern: /book not found/i,
        mention: '"book not found" (an id that is not a bigint finds no book, like any unknown id)',
      })),
    ];
    for (const { request, variables, pattern, mention } of attempts) {
      const reviewsBefore = await rowCount("reviews");
      const refused = await gql<AddedReview>(addReview, variables);
      expectGraphQLError(refused, request, pattern, mention);
      expect(
        await rowCount("reviews"),
        `${request} was refused, but a review was written anyway: check every input before the INSERT`,
      ).toBe(reviewsBefore);
    }
  });

  it("two addReview fields in one mutation: the second sees both reviews", async () => {
    const author = await createAuthor("two-reviews", ["Twice Reviewed"]);
    const bookId = author.bookIds[0]!;
    const reply = await gql<{
      first: { book: { reviews: { body: string }[] } };
      second: { book: { reviews: { body: string }[] } };
    }>(
      `mutation ($bookId: ID!) {
        first: addReview(bookId: $bookId, rating: 5, body: "first") { book { reviews { body } } }
        second: addReview(bookId: $bookId, rating: 2, body: "second") { book { reviews { body } } }
      }`,
      { bookId },
    );
    expect(errorsOf(reply), `both reviews must be added`).toEqual([]);
    expect(
      (await storedReviews(bookId)).map((review) => review.body),
      "each addReview stores its own review",
    ).toEqual(["first", "second"]);
    expect(
      reply.data?.first.book.reviews.map((review) => review.body),
      "after the first addReview the book has one review",
    ).toEqual(["first"]);
    expect(
      reply.data?.second.book.reviews.map((review) => review.body),
      "mutation fields run one after the other, in one request with one set of loaders: the first field loaded " +
        "the book's reviews into reviewsByBookId, so the second field got that cached list without its own " +
        "review. After a write, clear() the loader keys it made stale",
    ).toEqual(["first", "second"]);
  });
});
