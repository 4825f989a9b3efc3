//! Attribute macros of [jwt-router](https://docs.rs/jwt-router): `#[public]`, `#[ignored]` and
//! `#[authed]` declare a handler's route and policy. Use them through the `jwt-router` crate,
//! which re-exports them with the runtime they generate calls to.
//!
//! Each attribute is parsed (`attr`, `ast`, `route_path`), validated (`valid`) into a
//! declaration, and expanded (`expand`); every error points at the offending token, all errors
//! of one attribute are reported together, and the handler is still emitted unchanged beside
//! them.
//! Set `JWT_ROUTER_MACROS_DEBUG=1` (or `=handler_name`) to print expansions while compiling.

use proc_macro::TokenStream;

mod ast;
mod attr;
mod debug;
mod errors;
mod expand;
mod facade;
mod route_path;
mod valid;

/// Declares a route that needs no token, mounted under the API prefix (`api_name`).
///
/// The guard lets every request to it through, with or without a token. The handler is an
/// ordinary axum handler, emitted unchanged; the attribute adds its entry to the route table
/// that `JwtRoutes::router` mounts.
///
/// # Grammar
///
/// ```text
/// #[public(METHOD, "/path")]
/// #[public(METHOD, "/path", state = Type)]
///
/// METHOD := GET | POST | PUT | PATCH | DELETE | HEAD | OPTIONS
/// path   := an axum 0.8 route path: "/books", "/books/{id}", "/files/{*rest}"
/// Type   := the router's state type, when the handler's own `State<T>` is a sub-state
///           reached by `FromRef` (default: the `T` of a `State<T>` parameter, else `()`)
/// ```
///
/// # Example
///
/// ```
/// use axum::extract::State;
/// use jwt_router::public;
///
/// #[derive(Clone)]
/// struct Db;
/// # impl Db { async fn insert(&self, name: String) -> u64 { name.len() as u64 } }
///
/// #[public(POST, "/users")]
/// async fn register(State(db): State<Db>, name: String) -> String {
///     db.insert(name).await.to_string()
/// }
/// # fn main() {}
/// ```
///
/// # Common mistakes
///
/// A route-less `#[public]`: the guard only knows the routes in its table.
///
/// ```compile_fail
/// # use jwt_router::public;
/// #[public]
/// async fn health() -> &'static str { "ok" }
/// # fn main() {}
/// ```
/// ```text
/// error: `#[public]` needs a route: write `#[public(METHOD, "/path")]`, like `#[public(GET, "/health")]`; ...
/// ```
/// Fix: `#[public(GET, "/health")]`.
///
/// axum 0.7's parameter syntax:
///
/// ```compile_fail
/// # use jwt_router::public;
/// #[public(GET, "/books/:id")]
/// async fn book() {}
/// # fn main() {}
/// ```
/// ```text
/// error: axum 0.8 writes a path parameter as {id}, not :id (character 8): expected "/books/{id}"
/// ```
/// Fix: `#[public(GET, "/books/{id}")]`.
///
/// A lowercase or unknown method:
///
/// ```compile_fail
/// # use jwt_router::public;
/// #[public(get, "/health")]
/// async fn health() {}
/// # fn main() {}
/// ```
/// ```compile_fail
/// # use jwt_router::public;
/// #[public(FETCH, "/health")]
/// async fn health() {}
/// # fn main() {}
/// ```
/// ```text
/// error: HTTP methods are written in uppercase: write `GET`
/// error: unknown HTTP method `FETCH`: did you mean `PATCH`? ...
/// ```
/// Fix: `#[public(GET, "/health")]`; the methods are `GET`, `POST`, `PUT`, `PATCH`, `DELETE`,
/// `HEAD` and `OPTIONS`.
///
/// A parameter that reads the body before another one: axum extracts the request head first,
/// so only the last parameter can take the body.
///
/// ```compile_fail
/// # use jwt_router::{Tokens, public};
/// #[public(POST, "/login")]
/// async fn login(password: String, tokens: Tokens) {}
/// # fn main() {}
/// ```
/// ```text
/// error: `String` reads the request body, so it must be the last parameter of `login`: move it after `Tokens` ...
/// ```
/// Fix: `async fn login(tokens: Tokens, password: String)`. A parameter type that is no
/// extractor at all gets axum's `FromRequestParts` error on the type.
///
/// A handler that is not `async`, takes `self`, or is generic is refused: axum mounts one
/// concrete async function per route.
///
/// Set `JWT_ROUTER_MACROS_DEBUG=1` (or `=register`) while compiling to print the expansion.
#[proc_macro_attribute]
pub fn public(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(ast::Policy::Public, args.into(), item.into()).into()
}

/// Declares a route that bypasses jwt-router entirely, mounted at the root: never under the
/// API prefix, never guarded (a home page, a health check for the load balancer, static files).
///
/// # Grammar
///
/// ```text
/// #[ignored(METHOD, "/path")]
/// #[ignored(METHOD, "/path", state = Type)]
///
/// METHOD := GET | POST | PUT | PATCH | DELETE | HEAD | OPTIONS
/// path   := an axum 0.8 route path, not prefixed: "/", "/assets/{*file}"
/// ```
///
/// # Example
///
/// ```
/// use axum::response::Html;
/// use jwt_router::ignored;
///
/// #[ignored(GET, "/")]
/// async fn home() -> Html<&'static str> {
///     Html("<h1>Bookstore</h1>")
/// }
/// # fn main() {}
/// ```
///
/// # Common mistakes
///
/// An entity on a route that takes no token:
///
/// ```compile_fail
/// # use jwt_router::ignored;
/// #[ignored(GET, "/", entity = "users")]
/// async fn home() {}
/// # fn main() {}
/// ```
/// ```text
/// error: `#[ignored]` routes take no token, so they have no entity to load: ...
/// ```
/// Fix: drop `entity = ..`, or declare the route `#[authed(GET, "/", entity = "users")]`.
///
/// A query string in the path:
///
/// ```compile_fail
/// # use jwt_router::ignored;
/// #[ignored(GET, "/search?q")]
/// async fn search() {}
/// # fn main() {}
/// ```
/// ```text
/// error: path must not contain a query string: found '?' at character 8; expected "/search", ...
/// ```
/// Fix: `#[ignored(GET, "/search")]`, and read the query with axum's `Query` extractor.
#[proc_macro_attribute]
pub fn ignored(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(ast::Policy::Ignored, args.into(), item.into()).into()
}

/// Declares a route that needs a valid token, mounted under the API prefix; with
/// `entity = "table"`, the handler's first parameter receives the caller's entity, loaded
/// through its `Entity` implementation after checking the token's table.
///
/// Every route that is not declared `#[public]` or `#[ignored]` needs a token anyway: use
/// `#[authed]` to put a handler in the route table (so `JwtRoutes::router` mounts it) and to
/// have its entity injected.
///
/// # Grammar
///
/// ```text
/// #[authed(METHOD, "/path")]
/// #[authed(METHOD, "/path", entity = "table")]
/// #[authed(METHOD, "/path", entity = "table", state = Type)]
/// #[authed(METHOD, "/path", roles = [name, ..], scopes = [name, ..])]   with or without entity
/// #[authed(METHOD, "/path", fresh)]      with or without the named arguments
/// #[authed(entity = "table")]            a handler you mount yourself
/// #[authed(entity = "table", state = Type)]
///
/// METHOD := GET | POST | PUT | PATCH | DELETE | HEAD | OPTIONS
/// path   := an axum 0.8 route path: "/books", "/books/{id}", "/files/{*rest}"
/// table  := the entity's `Entity::TABLE_NAME` (the token's `table_name` claim)
/// Type   := the router's state type (default: the `T` of a `State<T>` parameter, else `()`)
/// name   := a string literal, an RFC 6749 §3.3 scope token: printable ASCII except space,
///           `"` and `\`; not empty, not listed twice
/// roles  := the token's `roles` claim must hold ANY of them
/// scopes := the token's `scope` claim must hold ALL of them
/// fresh  := the token must come from a login, not a refresh or a renewal
/// ```
///
/// Named arguments come in any order. With both `roles` and `scopes`, a token needs both: one
/// of the roles and every scope. So "admin or editor" is `roles = ["admin", "editor"]`, "read
/// and write" is `scopes = ["books:read", "books:write"]`. The guard decides from the token
/// before any extractor runs: a token without them gets 403 `insufficient_scope` and the route
/// reads neither its store nor its body. Roles need a route, so they are refused on
/// `#[authed(entity = "..")]` without one, and on `#[public]` and `#[ignored]`, which take no
/// token.
///
/// `fresh` marks a sensitive route (change a password, delete an account): it accepts only an
/// access token minted by a login (`Tokens::create_pair_for`, `create_token*` for another
/// entity than the caller's), not one from `Tokens::refresh` or a renewal (`update_token`),
/// which get 401 `fresh_token_required`: the client signs in again.
///
/// With `entity`, the first parameter is the entity (`user: User`); the other parameters are
/// axum extractors as usual. The handler is renamed and wrapped: the wrapper keeps its name,
/// visibility, attributes and the parameter names that are plain identifiers, and its first
/// parameter is `Authed(user): jwt_router::Authed<User>`. A
/// constant checks at compile time that `User::TABLE_NAME` is the declared table. Attribute
/// macros that read the parameters by name (`#[tracing::instrument]`) go above `#[authed]`,
/// so they see the function as written; lint attributes (`#[allow]`, `#[expect]`) reach the
/// renamed body either way. `JWT_ROUTER_MACROS_DEBUG=1` prints the expansion.
///
/// # Example
///
/// ```
/// use axum::extract::{Path, State};
/// use jwt_router::authed;
/// # use jwt_router::{Entity, StoreError};
/// # #[derive(Clone)] struct Db;
/// # struct User { id: i64 }
/// # impl Entity for User {
/// #     const TABLE_NAME: &'static str = "users";
/// #     type Id = i64;
/// #     type Store = Db;
/// #     fn id(&self) -> i64 { self.id }
/// #     async fn load(_: &Db, id: &i64) -> Result<Option<Self>, StoreError> { Ok(Some(User { id: *id })) }
/// # }
/// # impl Db { async fn title_of(&self, _user: i64, book: i64) -> String { format!("book {book}") } }
///
/// #[authed(GET, "/books/{id}", entity = "users")]
/// async fn show(user: User, State(db): State<Db>, Path(id): Path<i64>) -> String {
///     db.title_of(user.id, id).await
/// }
/// # fn main() {}
/// ```
///
/// # Common mistakes
///
/// The declared table is not the first parameter's:
///
/// ```compile_fail,E0080
/// # use jwt_router::authed;
/// # use jwt_router::{Entity, StoreError};
/// # #[derive(Clone)] struct Db;
/// # struct User { id: i64 }
/// # impl Entity for User {
/// #     const TABLE_NAME: &'static str = "users";
/// #     type Id = i64;
/// #     type Store = Db;
/// #     fn id(&self) -> i64 { self.id }
/// #     async fn load(_: &Db, id: &i64) -> Result<Option<Self>, StoreError> { Ok(Some(User { id: *id })) }
/// # }
/// # struct Teacher { id: i64 }
/// # impl Entity for Teacher {
/// #     const TABLE_NAME: &'static str = "teachers";
/// #     type Id = i64;
/// #     type Store = Db;
/// #     fn id(&self) -> i64 { self.id }
/// #     async fn load(_: &Db, id: &i64) -> Result<Option<Self>, StoreError> { Ok(Some(Teacher { id: *id })) }
/// # }
/// #[authed(GET, "/grades", entity = "users")]
/// async fn grades(teacher: Teacher) -> String { teacher.id.to_string() }
/// # fn main() {}
/// ```
/// ```text
/// error[E0080]: evaluation panicked: `grades` declares entity = "users", but its first
///               parameter `Teacher` is the entity of table "teachers" (`Teacher::TABLE_NAME`): ...
/// ```
/// Fix: `entity = "teachers"`, or take a `User`.
///
/// Two scopes written as one:
///
/// ```compile_fail
/// # use jwt_router::authed;
/// #[authed(POST, "/books", scopes = ["books:read books:write"])]
/// async fn create() {}
/// # fn main() {}
/// ```
/// ```text
/// error: a scope cannot hold a space (RFC 6749 §3.3): for two, write `scopes = ["a", "b"]`
/// ```
/// Fix: `scopes = ["books:read", "books:write"]`.
///
/// The entity is not the first parameter:
///
/// ```compile_fail
/// # use axum::extract::State;
/// # use jwt_router::authed;
/// # use jwt_router::{Entity, StoreError};
/// # #[derive(Clone)] struct Db;
/// # struct User { id: i64 }
/// # impl Entity for User {
/// #     const TABLE_NAME: &'static str = "users";
/// #     type Id = i64;
/// #     type Store = Db;
/// #     fn id(&self) -> i64 { self.id }
/// #     async fn load(_: &Db, id: &i64) -> Result<Option<Self>, StoreError> { Ok(Some(User { id: *id })) }
/// # }
/// #[authed(GET, "/me", entity = "users")]
/// async fn me(State(db): State<Db>, user: User) -> String { user.id.to_string() }
/// # fn main() {}
/// ```
/// ```text
/// error: `entity = "users"` passes the caller's entity as the first parameter, but the first
///        parameter of `me` is the extractor `State`: ...
/// ```
/// Fix: put the entity first, `async fn me(user: User, State(db): State<Db>)`; a type without
/// an `Entity` implementation gets the trait's own message on the type.
///
/// The table as a type:
///
/// ```compile_fail
/// # use jwt_router::authed;
/// # use jwt_router::{Entity, StoreError};
/// # #[derive(Clone)] struct Db;
/// # struct User { id: i64 }
/// # impl Entity for User {
/// #     const TABLE_NAME: &'static str = "users";
/// #     type Id = i64;
/// #     type Store = Db;
/// #     fn id(&self) -> i64 { self.id }
/// #     async fn load(_: &Db, id: &i64) -> Result<Option<Self>, StoreError> { Ok(Some(User { id: *id })) }
/// # }
/// #[authed(GET, "/me", entity = User)]
/// async fn me(user: User) -> String { user.id.to_string() }
/// # fn main() {}
/// ```
/// ```text
/// error: `entity` takes the entity's table name as a string, like `entity = "users"`; ...
/// ```
/// Fix: `entity = "users"`.
///
/// Two policies on one handler are refused: keep one.
///
/// ```compile_fail
/// # use jwt_router::{authed, public};
/// #[public(GET, "/books")]
/// #[authed(GET, "/books")]
/// async fn books() {}
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn authed(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(ast::Policy::Authed, args.into(), item.into()).into()
}
