//! What `build` can find wrong: one typed [`Problem`] each, with the source locations of the
//! routes involved, collected into one [`ConfigError`].

use std::fmt;

use crate::table::{Method, RouteDecl};

/// What [`JwtRoutesBuilder::build`](crate::JwtRoutesBuilder::build) found wrong: every problem,
/// not just the first. `Display` and `Debug` both list them one per line, so `build()?` in a
/// `main` that returns an error prints a readable list.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub(crate) problems: Vec<Problem>,
}

impl ConfigError {
    /// Each problem found.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jwt-router configuration is invalid:")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// The same text as `Display`: `main` prints its error with `Debug`.
impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConfigError {}

/// Where a route is declared: its handler and source location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The handler function's name.
    pub handler: &'static str,
    /// The file of the declaration.
    pub file: &'static str,
    /// The line of the declaration.
    pub line: u32,
}

impl Source {
    pub(crate) fn of(decl: &RouteDecl) -> Self {
        Self {
            handler: decl.handler,
            file: decl.file,
            line: decl.line,
        }
    }
}

/// `` `handler` at file:line ``
impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` at {}:{}", self.handler, self.file, self.line)
    }
}

/// One thing [`JwtRoutesBuilder::build`](crate::JwtRoutesBuilder::build) refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// No key was set, or a secret is empty.
    EmptySecret,
    /// A secret is shorter than its HMAC's output (RFC 7518 §3.2).
    ShortSecret {
        /// Its length in bytes.
        bytes: usize,
        /// The bytes its algorithm needs: 32 (HS256), 48 (HS384) or 64 (HS512).
        needed: usize,
    },
    /// Two keys have the same `kid` (or two have none): a token could not name its key.
    DuplicateKid {
        /// The shared key id.
        kid: Option<String>,
    },
    /// More than one signing key was set (`.secret` or `.signing_key` twice).
    SeveralSigningKeys,
    /// The signing key is a public key, which verifies only.
    SigningKeyCannotSign {
        /// Its key id.
        kid: Option<String>,
    },
    /// The secret is one byte repeated.
    RepeatedSecret,
    /// The API prefix does not start with `/`.
    ApiNameWithoutSlash {
        /// The prefix as given.
        api_name: String,
    },
    /// The API prefix has characters a plain path can't (`{`, `}`, `?`, `#`, space).
    ApiNameNotAPath {
        /// The prefix as given.
        api_name: String,
    },
    /// Tokens would expire at once.
    ZeroExpiry,
    /// Two entity types are registered for one table.
    DuplicateEntity {
        /// The table.
        table: &'static str,
        /// The type registered first.
        first: &'static str,
        /// The type registered second.
        second: &'static str,
    },
    /// One method and path are declared twice.
    DuplicateRoute {
        /// The method.
        method: Method,
        /// The full path, with the API prefix.
        path: String,
        /// The first declaration.
        first: Source,
        /// The second declaration.
        second: Source,
    },
    /// Two paths axum's router can't hold side by side (`/users/{id}` and `/users/{name}`).
    ConflictingRoutes {
        /// The path that could not be added.
        path: String,
        /// Its declaration.
        route: Source,
        /// The path it conflicts with.
        with: String,
        /// That path's declaration, when it is a declared route.
        other: Option<Source>,
    },
    /// A path axum's router refuses.
    InvalidPath {
        /// The full path.
        path: String,
        /// Its declaration.
        route: Source,
        /// axum's (matchit's) reason.
        reason: String,
    },
    /// A route declares an entity table that no registered entity has.
    UnregisteredEntity {
        /// The declared table.
        table: &'static str,
        /// The entity parameter's type as written, when the declaration has one.
        entity_type: Option<&'static str>,
        /// The declaration.
        route: Source,
    },
    /// An external issuer maps its tokens to an entity that is not registered.
    IssuerEntityNotRegistered {
        /// The issuer.
        issuer: String,
        /// The entity's table.
        table: &'static str,
    },
    /// A handler takes another state type than the router's.
    StateMismatch {
        /// The declaration.
        route: Source,
        /// The handler's state type.
        handler_state: &'static str,
        /// The router's state type.
        router_state: &'static str,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptySecret => f.write_str("the secret is empty: set one with .secret(...)"),
            Self::ShortSecret { bytes, needed } => write!(
                f,
                "the secret is {bytes} bytes; HS{} needs at least {needed} random bytes",
                needed * 8
            ),
            Self::DuplicateKid { kid: Some(kid) } => {
                write!(f, "two keys have kid {kid:?}: give each key its own kid")
            }
            Self::DuplicateKid { kid: None } => f.write_str(
                "two keys have no kid: with several keys, give each its own with .with_kid(..)",
            ),
            Self::SeveralSigningKeys => f.write_str(
                "more than one signing key (.secret / .signing_key): keep old keys with .key(..)",
            ),
            Self::SigningKeyCannotSign { kid } => write!(
                f,
                "the signing key{} is a public key: sign with a secret or a private key",
                kid.as_ref().map(|k| format!(" {k:?}")).unwrap_or_default()
            ),
            Self::RepeatedSecret => {
                f.write_str("the secret is one byte repeated: use random bytes")
            }
            Self::ApiNameWithoutSlash { api_name } => write!(
                f,
                "api_name {api_name:?} must start with '/', e.g. \"/api/v1\""
            ),
            Self::ApiNameNotAPath { api_name } => write!(
                f,
                "api_name {api_name:?} must be a plain path, e.g. \"/api/v1\""
            ),
            Self::ZeroExpiry => f.write_str("the token expiry must be at least one second"),
            Self::DuplicateEntity {
                table,
                first,
                second,
            } => write!(
                f,
                "entity table \"{table}\" is registered twice ({first} and {second})"
            ),
            Self::DuplicateRoute {
                method,
                path,
                first,
                second,
            } => write!(f, "{method} {path} is declared twice: {first} and {second}"),
            Self::ConflictingRoutes {
                path,
                route,
                with,
                other,
            } => {
                write!(f, "{path} ({route}) conflicts with {with}")?;
                if let Some(other) = other {
                    write!(f, " ({other})")?;
                }
                f.write_str(": axum can't route both")
            }
            Self::InvalidPath {
                path,
                route,
                reason,
            } => write!(f, "{path} ({route}) is not a valid axum path: {reason}"),
            Self::UnregisteredEntity {
                table,
                entity_type,
                route,
            } => write!(
                f,
                "{route} declares entity = \"{table}\", but no entity with that table is \
                 registered: add .entity::<{}>() to the builder",
                entity_type.unwrap_or("YourType")
            ),
            Self::IssuerEntityNotRegistered { issuer, table } => write!(
                f,
                "the issuer {issuer} names entities of table \"{table}\", which is not \
                 registered: add .entity::<..>() for it"
            ),
            Self::StateMismatch {
                route,
                handler_state,
                router_state,
            } => write!(
                f,
                "{route} takes state `{handler_state}`, but the router's state is \
                 `{router_state}`; if it is reached by FromRef, declare it on the handler: \
                 `state = {router_state}`"
            ),
        }
    }
}
