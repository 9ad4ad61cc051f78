import {
  GraphQLID,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from "graphql";
import { pool } from "./db.ts";
import { type Author, type Book, createLoaders, type Loaders, type Review, toId } from "./loaders.ts";

/** What every resolver of one request sees as its third argument. */
export interface Context {
  loaders: Loaders;
}

/** Called by server.ts for every request. */
export function createContext(): Context {
  // Fresh loaders, so fresh caches, for every request: nothing cached outlives it.
  return { loaders: createLoaders() };
}

const maxFirst = 100;

async function authorOf(book: Book, loaders: Loaders): Promise<Author> {
  const author = await loaders.authorById.load(book.authorId);
  if (!author) throw new Error(`author ${book.authorId} of book ${book.id} not found`);
  return author;
}

async function bookOf(review: Review, loaders: Loaders): Promise<Book> {
  const book = await loaders.bookById.load(review.bookId);
  if (!book) throw new Error(`book ${review.bookId} of review ${review.id} not found`);
  return book;
}

/** [T!]!: a list that is never null and holds no nulls. */
const listOf = <T>(type: GraphQLObjectType<T, Context>) =>
  new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type)));

// The types and fields are the contract in the README. Fields without a resolver read the property of the
// same name from their parent object (id, name, title, rating, body).

const AuthorType: GraphQLObjectType<Author, Context> = new GraphQLObjectType<Author, Context>({
  name: "Author",
  fields: () => ({
    id: { type: new GraphQLNonNull(GraphQLID) },
    name: { type: new GraphQLNonNull(GraphQLString) },
    books: {
      type: listOf(BookType),
      resolve: async (author, _args, { loaders }) => {
        const books = await loaders.booksByAuthorId.load(author.id);
        for (const book of books) loaders.bookById.prime(book.id, book);
        return books;
      },
    },
  }),
});

const BookType: GraphQLObjectType<Book, Context> = new GraphQLObjectType<Book, Context>({
  name: "Book",
  fields: () => ({
    id: { type: new GraphQLNonNull(GraphQLID) },
    title: { type: new GraphQLNonNull(GraphQLString) },
    author: {
      type: new GraphQLNonNull(AuthorType),
      resolve: (book, _args, { loaders }) => authorOf(book, loaders),
    },
    reviews: {
      type: listOf(ReviewType),
      resolve: (book, _args, { loaders }) => loaders.reviewsByBookId.load(book.id),
    },
  }),
});

const ReviewType: GraphQLObjectType<Review, Context> = new GraphQLObjectType<Review, Context>({
  name: "Review",
  fields: () => ({
    id: { type: new GraphQLNonNull(GraphQLID) },
    rating: { type: new GraphQLNonNull(GraphQLInt) },
    body: { type: new GraphQLNonNull(GraphQLString) },
    book: {
      type: new GraphQLNonNull(BookType),
      resolve: (review, _args, { loaders }) => bookOf(review, loaders),
    },
  }),
});

const QueryType = new GraphQLObjectType<unknown, Context>({
  name: "Query",
  fields: {
    authors: {
      type: listOf(AuthorType),
      args: { first: { type: new GraphQLNonNull(GraphQLInt), defaultValue: 50 } },
      resolve: async (_root, { first }: { first: number }, { loaders }) => {
        if (first > maxFirst) throw new Error(`first must be at most ${maxFirst}, got ${first}`);
        if (first < 0) throw new Error(`first must not be negative, got ${first}`);
        const { rows } = await pool.query<Author>("SELECT id, name FROM authors ORDER BY id LIMIT $1", [
          first,
        ]);
        for (const author of rows) loaders.authorById.prime(author.id, author);
        return rows;
      },
    },
    author: {
      type: AuthorType,
      args: { id: { type: new GraphQLNonNull(GraphQLID) } },
      resolve: (_root, { id }: { id: string }, { loaders }) => loaders.authorById.load(id),
    },
    book: {
      type: BookType,
      args: { id: { type: new GraphQLNonNull(GraphQLID) } },
      resolve: (_root, { id }: { id: string }, { loaders }) => loaders.bookById.load(id),
    },
  },
});

const MutationType = new GraphQLObjectType<unknown, Context>({
  name: "Mutation",
  fields: {
    addReview: {
      type: new GraphQLNonNull(ReviewType),
      args: {
        bookId: { type: new GraphQLNonNull(GraphQLID) },
        rating: { type: new GraphQLNonNull(GraphQLInt) },
        body: { type: new GraphQLNonNull(GraphQLString) },
      },
      resolve: async (
        _root,
        { bookId, rating, body }: { bookId: string; rating: number; body: string },
        { loaders },
      ): Promise<Review> => {
        if (!Number.isInteger(rating) || rating < 1 || rating > 5) {
          throw new Error(`rating must be an integer from 1 to 5, got ${rating}`);
        }
        if (body.trim() === "") throw new Error("body must not be blank");
        const id = toId(bookId);
        if (id === undefined) throw new Error(`book not found: ${bookId}`);
        // One statement: the review is inserted only if the book exists at that moment.
        const { rows } = await pool.query<Review>(
          `INSERT INTO reviews (book_id, rating, body)
           SELECT id, $2, $3 FROM books WHERE id = $1::bigint
           RETURNING id, book_id AS "bookId", rating, body`,
          [id, rating, body],
        );
        const review = rows[0];
        if (!review) throw new Error(`book not found: ${bookId}`);
        // The book's cached list of reviews no longer holds every review.
        loaders.reviewsByBookId.clear(review.bookId);
        return review;
      },
    },
  },
});

export const schema = new GraphQLSchema({ query: QueryType, mutation: MutationType });
