import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import { countStatements, createAuthor, got, gql, rowCount, storedReviews, uid } from "./helpers.ts";

interface AuthorWithBooks {
  author: { name: string; books: { title: string }[] } | null;
}

task(4, "One set of loaders per request", () => {
  it("a row changed between two requests: the second request sees the change", async () => {
    const author = await createAuthor("stale", ["The First Book"]);
    const query = "query ($id: ID!) { author(id: $id) { name books { title } } }";
    const before = await gql<AuthorWithBooks>(query, { id: author.id });
    expect(
      before.data?.author,
      `author(id: "${author.id}") must return the new author (${got(before)})`,
    ).toEqual({
      name: author.name,
      books: [{ title: "The First Book" }],
    });

    // Another instance, an admin tool or a migration writes to the database between two requests.
    const renamed = uid("renamed");
    await postgres().query("UPDATE authors SET name = $2 WHERE id = $1", [author.id, renamed]);
    await postgres().query("INSERT INTO books (author_id, title) VALUES ($1, 'The Second Book')", [
      author.id,
    ]);

    const after = await gql<AuthorWithBooks>(query, { id: author.id });
    expect(
      after.data?.author,
      "the second request answered with what the first one read: a DataLoader caches every key it loaded for as " +
        "long as it lives, so a loader shared by requests serves stale rows, and one user's rows to the next " +
        `user. Build new loaders in createContext() for every request (${got(after)})`,
    ).toEqual({ name: renamed, books: [{ title: "The First Book" }, { title: "The Second Book" }] });
  });

  it("within one request an author is read once, even when several fields ask for it", async () => {
    const author = await createAuthor("cached", ["Tome I", "Tome II", "Tome III"]);
    const { result: reply, statements } = await countStatements(["authors"], () =>
      gql<{ author: { name: string; books: { author: { name: string } }[] } }>(
        "query ($id: ID!) { author(id: $id) { name books { title author { name } } } }",
        { id: author.id },
      ),
    );
    expect(reply.errors, `the query must run without errors (${got(reply)})`).toBeUndefined();
    expect(
      reply.data?.author.books.map((book) => book.author.name),
      "each book's author is the author we started from",
    ).toEqual([author.name, author.name, author.name]);
    expect(
      statements.authors,
      `author ${author.id} was read by ${statements.authors} SQL statements in one request. The root field ` +
        "loaded it; Book.author must get it from the same request's loader, whose cache already holds it " +
        "(one authorById loader per request, shared by every field, with its cache on)",
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
  it("addReview stores the review and returns it; a bad rating or an unknown book writes nothing", async () => {
    const author = await createAuthor("reviewed", ["Reviewed Book"]);
    const bookId = author.bookIds[0]!;
    const body = uid("Loved it");
    const reply = await gql<AddedReview>(addReview, { bookId, rating: 4, body });
    expect(reply.errors, `addReview on an existing book must succeed (${got(reply)})`).toBeUndefined();
    const stored = await storedReviews(bookId);
    expect(
      stored.map(({ rating, body }) => ({ rating, body })),
      "addReview must INSERT one row into reviews with the book_id, rating and body given",
    ).toEqual([{ rating: 4, body }]);
    expect(
      reply.data?.addReview,
      "addReview returns the stored review: its id (the row's id as a string), rating, body and book",
    ).toEqual({ id: stored[0]!.id, rating: 4, body, book: { id: bookId, title: "Reviewed Book" } });

    const reviewsBefore = await rowCount("reviews");
    for (const rating of [0, 6]) {
      const refused = await gql<AddedReview>(addReview, { bookId, rating, body: "out of range" });
      expect(
        refused.errors?.[0]?.message,
        `addReview with rating ${rating} must fail with an error mentioning the rating (1 to 5) (${got(refused)})`,
      ).toMatch(/rating/i);
    }
    const empty = await gql<AddedReview>(addReview, { bookId, rating: 3, body: "   " });
    expect(
      empty.errors?.[0]?.message,
      `addReview with a blank body must fail with an error mentioning the body (${got(empty)})`,
    ).toMatch(/body/i);
    for (const missing of ["987654321", "abc"]) {
      const refused = await gql<AddedReview>(addReview, { bookId: missing, rating: 5, body: "ghost" });
      expect(
        refused.errors?.[0]?.message,
        `addReview on book "${missing}" must fail with an error containing "book not found" (${got(refused)})`,
      ).toMatch(/book not found/i);
    }
    expect(await rowCount("reviews"), "a refused addReview must not write any review").toBe(reviewsBefore);
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
    expect(reply.errors, `both reviews must be added (${got(reply)})`).toBeUndefined();
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
