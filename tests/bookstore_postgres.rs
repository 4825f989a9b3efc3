//! The bookstore's whole contract suite (`tests/bookstore.rs`) again, each test on a real
//! PostgreSQL server of its own (`DATABASE_URL=postgres://...`): same schema, same answers.

#[path = "bookstore.rs"]
mod suite;
