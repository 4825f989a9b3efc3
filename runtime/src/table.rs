//! The route table: what the attribute macros declare, collected by linkme across the binary.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;

use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};

use crate::config_error::{Problem, Source};

/// An HTTP method a route can be declared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    /// Every method, in table order.
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
        Method::Options,
    ];

    /// The method as written in HTTP, e.g. `GET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }

    /// The declared method of an HTTP request method, if it is one of the seven.
    pub fn from_http(method: &axum::http::Method) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == method.as_str())
    }

    pub(crate) fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Patch => MethodFilter::PATCH,
            Method::Delete => MethodFilter::DELETE,
            Method::Head => MethodFilter::HEAD,
            Method::Options => MethodFilter::OPTIONS,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a route requires of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// No token needed (flask-jwt-router's white-listed routes); mounted under the API prefix.
    Public,
    /// Bypasses the guard entirely and is never prefixed (flask-jwt-router's ignored routes).
    Ignored,
    /// A valid token is required. The default for every route that is not declared otherwise.
    Authed,
}

impl Policy {
    /// The policy's name as the attributes spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Public => "public",
            Policy::Ignored => "ignored",
            Policy::Authed => "authed",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A type's identity and name, to check a handler's state type against the router's.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct TypeKey {
    pub(crate) id: TypeId,
    pub(crate) name: &'static str,
}

/// The [`TypeKey`] of `T`; the macros store `type_key::<StateTy>` in each declaration.
#[doc(hidden)]
pub fn type_key<T: 'static>() -> TypeKey {
    TypeKey {
        id: TypeId::of::<T>(),
        name: std::any::type_name::<T>(),
    }
}

/// One route declared by `#[public]`, `#[ignored]` or `#[authed]`. Written by the macros only.
#[doc(hidden)]
#[derive(Debug)]
pub struct RouteDecl {
    pub method: Method,
    pub path: &'static str,
    pub policy: Policy,
    pub entity: Option<&'static str>,
    /// The entity parameter's type as written, to name it in startup errors.
    pub entity_type: Option<&'static str>,
    /// `roles = [..]`: the token needs one of them.
    pub roles: &'static [&'static str],
    /// `scopes = [..]`: the token needs all of them.
    pub scopes: &'static [&'static str],
    /// `fresh`: the token must be minted by a login, not by a refresh.
    pub fresh: bool,
    pub handler: &'static str,
    pub module: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub state: fn() -> TypeKey,
    pub mount: fn(&dyn Any, Method) -> Option<MethodRouter>,
}

impl RouteDecl {
    /// Whether the declaration sits in `module` or a module below it.
    pub(crate) fn is_in(&self, module: &str) -> bool {
        self.module
            .strip_prefix(module)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    }
}

/// Every route declared in the binary, in link order.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static ROUTES: [RouteDecl];

/// Mounts `handler` for `method`, given the router's state as `Any`. `S` is the handler's state
/// type: the router's, or `()` for a handler that takes no state; `None` if it is neither.
/// Called by the closures the macros generate.
#[doc(hidden)]
pub fn mount<S, H, T>(state: &dyn Any, method: Method, handler: H) -> Option<MethodRouter>
where
    S: Clone + Send + Sync + 'static,
    H: Handler<T, S>,
    T: 'static,
{
    let state = state
        .downcast_ref::<S>()
        .or_else(|| (&() as &dyn Any).downcast_ref::<S>())?;
    Some(axum::routing::on(method.filter(), handler).with_state(state.clone()))
}

/// One row of the route table as mounted: full path (with the API prefix) and where it is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The declared method; `None` (printed `*`) for a route added by hand, whose methods the
    /// router does not tell.
    pub method: Option<Method>,
    /// The path axum matches, with the API prefix for public and authed routes.
    pub path: String,
    /// The declared policy.
    pub policy: Policy,
    /// The entity table the route is for, if it declares one.
    pub entity: Option<&'static str>,
    /// The roles the route declares, of which a token needs one; empty when it declares none.
    pub roles: &'static [&'static str],
    /// The scopes the route declares, all of which a token needs.
    pub scopes: &'static [&'static str],
    /// Whether the route declares `fresh`: a token minted by a login, not by a refresh.
    pub fresh: bool,
    /// The handler function's name; for a route added by hand, the method that added it
    /// (`.route()`, `.nest()`, ...).
    pub handler: &'static str,
    /// The module the handler is declared in; empty for a route added by hand.
    pub module: &'static str,
    /// Source file of the declaration, or of the call that added the route.
    pub file: &'static str,
    /// Source line of the declaration, or of the call that added the route.
    pub line: u32,
}

/// The routes a [`JwtRoutes`](crate::JwtRoutes) mounts; `Display` prints a readable table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable(pub(crate) Vec<RouteInfo>);

impl RouteTable {
    /// The rows, declared routes sorted by path and method, then routes added by hand.
    pub fn iter(&self) -> std::slice::Iter<'_, RouteInfo> {
        self.0.iter()
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a RouteTable {
    type Item = &'a RouteInfo;
    type IntoIter = std::slice::Iter<'a, RouteInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for RouteTable {
    type Item = RouteInfo;
    type IntoIter = std::vec::IntoIter<RouteInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = [
            "METHOD", "PATH", "POLICY", "ENTITY", "ROLES", "SCOPES", "HANDLER", "SOURCE",
        ];
        // Roles are any-of, scopes all-of: `admin|editor`, `books:read books:write`.
        let list = |names: &[&str], separator| match names {
            [] => "-".to_owned(),
            names => names.join(separator),
        };
        let rows: Vec<[String; 8]> = self
            .0
            .iter()
            .map(|r| {
                [
                    r.method.map_or_else(|| "*".to_owned(), |m| m.to_string()),
                    r.path.clone(),
                    match r.fresh {
                        true => format!("{} (fresh)", r.policy),
                        false => r.policy.to_string(),
                    },
                    r.entity.unwrap_or("-").to_owned(),
                    list(r.roles, "|"),
                    list(r.scopes, " "),
                    r.handler.to_owned(),
                    format!("{}:{}", r.file, r.line),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.len());
            }
        }
        let mut line = |cells: [&str; 8]| -> fmt::Result {
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    writeln!(f, "{cell}")?;
                } else {
                    write!(f, "{cell:width$}  ")?;
                }
            }
            Ok(())
        };
        line(header)?;
        for row in &rows {
            line(row.each_ref().map(String::as_str))?;
        }
        Ok(())
    }
}

/// A declaration selected by the builder, with the full path axum mounts it at.
#[derive(Debug)]
pub(crate) struct MountedRoute {
    pub(crate) decl: &'static RouteDecl,
    pub(crate) path: String,
}

/// The declarations in `modules` (all when empty), at their full paths under `prefix`.
pub(crate) fn select(prefix: &str, modules: &[String]) -> Vec<MountedRoute> {
    ROUTES
        .iter()
        .filter(|decl| modules.is_empty() || modules.iter().any(|m| decl.is_in(m)))
        .map(|decl| MountedRoute {
            decl,
            path: full_path(prefix, decl),
        })
        .collect()
}

/// The path axum mounts: public and authed routes under the prefix, ignored ones as declared.
fn full_path(prefix: &str, decl: &RouteDecl) -> String {
    match decl.policy {
        Policy::Ignored => decl.path.to_owned(),
        _ if decl.path == "/" && !prefix.is_empty() => prefix.to_owned(),
        _ => format!("{prefix}{}", decl.path),
    }
}

/// Every problem of the selected routes for a router of state `S` with entity `tables`:
/// duplicates, paths axum can't hold together, unregistered entities, other state types.
pub(crate) fn check<S: 'static>(
    routes: &[MountedRoute],
    tables: &[&'static str],
    problems: &mut Vec<Problem>,
) {
    check_conflicts(routes, problems);
    let mut seen: HashMap<(Method, &str), &RouteDecl> = HashMap::new();
    for MountedRoute { decl, path } in routes {
        if let Some(first) = seen.insert((decl.method, path.as_str()), decl) {
            problems.push(Problem::DuplicateRoute {
                method: decl.method,
                path: path.clone(),
                first: Source::of(first),
                second: Source::of(decl),
            });
        }
        if let Some(table) = decl.entity
            && !tables.contains(&table)
        {
            problems.push(Problem::UnregisteredEntity {
                table,
                entity_type: decl.entity_type,
                route: Source::of(decl),
            });
        }
        let state = (decl.state)();
        if state.id != TypeId::of::<()>() && state.id != TypeId::of::<S>() {
            problems.push(Problem::StateMismatch {
                route: Source::of(decl),
                handler_state: state.name,
                router_state: std::any::type_name::<S>(),
            });
        }
    }
}

/// The authed routes that declare neither roles nor scopes, when another route declares some;
/// none in an app without roles.
pub(crate) fn without_roles(routes: &[MountedRoute]) -> Vec<&MountedRoute> {
    let granted = |decl: &RouteDecl| !decl.roles.is_empty() || !decl.scopes.is_empty();
    if !routes.iter().any(|route| granted(route.decl)) {
        return Vec::new();
    }
    routes
        .iter()
        .filter(|route| route.decl.policy == Policy::Authed && !granted(route.decl))
        .collect()
}

/// Paths axum's router (matchit) can't hold side by side, e.g. `/users/{id}` and `/users/{name}`:
/// axum would panic when mounting them, so they are reported here with their locations.
fn check_conflicts(routes: &[MountedRoute], problems: &mut Vec<Problem>) {
    let mut paths = matchit::Router::new();
    let mut first_at: HashMap<&str, &RouteDecl> = HashMap::new();
    for MountedRoute { decl, path } in routes {
        if first_at.contains_key(path.as_str()) {
            continue; // the same path with another method: axum merges them
        }
        match paths.insert(path.as_str(), ()) {
            Ok(()) => {
                first_at.insert(path, decl);
            }
            Err(matchit::InsertError::Conflict { with }) => {
                problems.push(Problem::ConflictingRoutes {
                    path: path.clone(),
                    route: Source::of(decl),
                    other: first_at.get(with.as_str()).map(|d| Source::of(d)),
                    with,
                });
            }
            Err(err) => problems.push(Problem::InvalidPath {
                path: path.clone(),
                route: Source::of(decl),
                reason: err.to_string(),
            }),
        }
    }
}
