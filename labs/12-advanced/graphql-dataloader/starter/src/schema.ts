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
import { type Author, type Book, createLoaders, type Loaders, type Review } from "./loaders.ts";

/** What every resolver of one request sees as its third argument. */
export interface Context {
  loaders: Loaders;
}

/** Called by server.ts for every request. */
export function createContext(): Context {
  // TODO 4: what must a request get here, and what must it never share with another request?
  void createLoaders;
  throw new Error("createContext() is not implemented yet");
}

function notImplemented(field: string): never {
  throw new Error(`${field} is not implemented yet`);
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
      // TODO 1-2: the author's books, ordered by id.
      resolve: (_author, _args, _context) => notImplemented("Author.books"),
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
      // TODO 1-2: the author books.author_id points to.
      resolve: (_book, _args, _context) => notImplemented("Book.author"),
    },
    reviews: {
      type: listOf(ReviewType),
      // TODO 1-2: the book's reviews, ordered by id.
      resolve: (_book, _args, _context) => notImplemented("Book.reviews"),
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
      // TODO 1-2: the book the review is about.
      resolve: (_review, _args, _context) => notImplemented("Review.book"),
    },
  }),
});

const QueryType = new GraphQLObjectType<unknown, Context>({
  name: "Query",
  fields: {
    authors: {
      type: listOf(AuthorType),
      args: { first: { type: new GraphQLNonNull(GraphQLInt), defaultValue: 50 } },
      // TODO 1: the first `first` authors by id; first above 100 is an error.
      resolve: (_root, _args: { first: number }, _context) => {
        void pool;
        return notImplemented("Query.authors");
      },
    },
    author: {
      type: AuthorType,
      args: { id: { type: new GraphQLNonNull(GraphQLID) } },
      // TODO 1-3: the author with this id, or null.
      resolve: (_root, _args: { id: string }, _context) => notImplemented("Query.author"),
    },
    book: {
      type: BookType,
      args: { id: { type: new GraphQLNonNull(GraphQLID) } },
      // TODO 1-3: the book with this id, or null.
      resolve: (_root, _args: { id: string }, _context) => notImplemented("Query.book"),
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
      // TODO 5: validate, insert the review, and make this request's loaders forget what the insert made stale.
      resolve: (_root, _args: { bookId: string; rating: number; body: string }, _context) =>
        notImplemented("Mutation.addReview"),
    },
  },
});

export const schema = new GraphQLSchema({ query: QueryType, mutation: MutationType });
