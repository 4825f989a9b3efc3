//! Validation: checks the parsed arguments and handler against each other and against what
//! axum can mount, and resolves what the expansion needs (the entity parameter, the state
//! type) into a [`Declaration`]. Every error of the attribute is reported together.

use syn::{FnArg, GenericArgument, GenericParam, LitStr, PatType, PathArguments, Safety, Type};

use crate::ast::{Args, Grant, Handler, Policy, Route};
use crate::errors::Errors;

/// A handler declaration that expansion can turn into code without further checks.
pub(crate) struct Declaration {
    pub(crate) policy: Policy,
    /// `None` only for `#[authed(entity = "..")]`, a handler the user mounts.
    pub(crate) route: Option<Route>,
    /// The handler's parameters in order (none is `self`); the first receives the entity.
    pub(crate) params: Vec<PatType>,
    pub(crate) entity: Option<Entity>,
    /// `roles = [..]`: the token needs one of them; empty when not given.
    pub(crate) roles: Vec<LitStr>,
    /// `scopes = [..]`: the token needs all of them; empty when not given.
    pub(crate) scopes: Vec<LitStr>,
    /// `fresh`: the token must be minted by a login, not by a refresh.
    pub(crate) fresh: bool,
    /// The router's state type: `state = T`, else the `T` of a `State<T>` parameter, else `()`.
    pub(crate) state: Type,
    pub(crate) handler: Handler,
}

/// `entity = "table"` and the type of the parameter that receives it (the first).
pub(crate) struct Entity {
    pub(crate) table: LitStr,
    pub(crate) ty: Type,
}

/// Checks `handler` and `args`, adding to the errors `errors` already holds from parsing.
pub(crate) fn validate(
    policy: Policy,
    args: Args,
    handler: Handler,
    mut errors: Errors,
) -> syn::Result<Declaration> {
    check_policies(policy, &handler, &mut errors);
    check_signature(&handler, &mut errors);
    let params = check_parameters(&handler, &mut errors);
    let entity = args
        .entity
        .and_then(|table| entity(table, &handler, &mut errors));
    if args.route.is_none() {
        for grant in args.roles.iter().chain(&args.scopes) {
            errors.spanned(&grant.key, routeless_grant(&grant.key.to_string()));
        }
        if let Some(fresh) = &args.fresh {
            errors.spanned(
                fresh,
                "`fresh` is checked by the guard on the route this attribute declares, and this \
                 handler declares none (you mount it yourself): add the method and path, like \
                 `#[authed(POST, \"/password\", entity = \"users\", fresh)]`",
            );
        }
    }
    let names = |grant: Option<Grant>| grant.map(|grant| grant.names).unwrap_or_default();
    let state = args
        .state
        .or_else(|| state_type(&handler).cloned())
        .unwrap_or_else(|| syn::parse_quote!(()));
    errors.finish(Declaration {
        policy,
        route: args.route,
        params,
        entity,
        fresh: args.fresh.is_some(),
        roles: names(args.roles),
        scopes: names(args.scopes),
        state,
        handler,
    })
}

/// `#[authed(entity = "users", roles = [..])]`: the guard checks roles by the route table, and
/// a handler mounted by hand has no row in it.
fn routeless_grant(key: &str) -> String {
    format!(
        "`{key}` are checked by the guard on the route this attribute declares, and this handler \
         declares none (you mount it yourself): add the method and path, like \
         `#[authed(GET, \"/users\", entity = \"users\", {key} = [..])]`"
    )
}

/// A second `#[public]`, `#[ignored]` or `#[authed]` on the same function.
fn check_policies(policy: Policy, handler: &Handler, errors: &mut Errors) {
    let name = &handler.sig.ident;
    for attr in &handler.attrs {
        let Some(other) = attr.path().segments.last() else {
            continue;
        };
        let other = other.ident.to_string();
        if !matches!(other.as_str(), "public" | "ignored" | "authed") {
            continue;
        }
        let message = if other == policy.name() {
            format!(
                "`{name}` is declared twice with `#[{other}]`: a handler has one route; for a \
                 second route, write a second handler that calls this one"
            )
        } else {
            format!(
                "`{name}` has two policies, `#[{}]` and `#[{other}]`: a handler is public, \
                 ignored or authed; keep one",
                policy.name()
            )
        };
        errors.spanned(attr, message);
    }
}

/// What axum needs of the function itself: async, safe, not generic, not variadic.
fn check_signature(handler: &Handler, errors: &mut Errors) {
    let sig = &handler.sig;
    let name = &sig.ident;
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            format!(
                "`{name}` must be an `async fn`: axum handlers are async; write `async fn {name}`"
            ),
        );
    }
    if let Safety::Unsafe(unsafety) = &sig.safety {
        errors.spanned(
            unsafety,
            "a handler cannot be an `unsafe fn`: axum calls it like any function",
        );
    }
    for param in &sig.generics.params {
        let what = match param {
            GenericParam::Lifetime(_) => continue,
            GenericParam::Type(ty) => format!("type `{}`", ty.ident),
            GenericParam::Const(constant) => format!("const `{}`", constant.ident),
        };
        errors.spanned(
            param,
            format!(
                "a handler cannot be generic (over {what}): the route table mounts one concrete \
                 function per route; name the concrete type (a type alias keeps it short)"
            ),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "a handler cannot be variadic");
    }
}

/// Extractors that read the request body: axum runs them last, so only the last parameter
/// can be one.
const BODY_EXTRACTORS: [&str; 8] = [
    "Json",
    "Form",
    "Bytes",
    "String",
    "Request",
    "Body",
    "RawForm",
    "Multipart",
];

/// Each parameter on its own: no `self`, no `impl Trait`, a body extractor only last. Returns
/// the typed parameters.
fn check_parameters(handler: &Handler, errors: &mut Errors) -> Vec<PatType> {
    let name = &handler.sig.ident;
    let inputs: Vec<&FnArg> = handler.sig.inputs.iter().collect();
    let mut params = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let param = match input {
            FnArg::Receiver(receiver) => {
                errors.spanned(
                    receiver,
                    "a handler cannot take `self`: axum mounts free functions; declare the \
                     handler outside the `impl` block and call the method from it",
                );
                continue;
            }
            FnArg::Typed(param) => param,
        };
        let ty = &param.ty;
        if let Type::ImplTrait(_) = **ty {
            errors.spanned(
                ty,
                format!(
                    "`impl Trait` makes `{name}` generic, and the route table mounts one \
                     concrete function per route: name the concrete type"
                ),
            );
        }
        if let Some(extractor) = last_segment(ty)
            && BODY_EXTRACTORS.contains(&extractor.as_str())
            && let Some(FnArg::Typed(next)) = inputs.get(i + 1)
        {
            let next = last_segment(&next.ty).unwrap_or_else(|| "_".to_owned());
            errors.spanned(
                ty,
                format!(
                    "`{extractor}` reads the request body, so it must be the last parameter \
                     of `{name}`: move it after `{next}` (axum extracts the other parameters \
                     from the request head first)"
                ),
            );
        }
        params.push((*param).clone());
    }
    params
}

/// Extractor types that are never an entity: the most common ways to get the order wrong.
const EXTRACTORS: [&str; 12] = [
    "State",
    "Path",
    "Query",
    "Json",
    "Form",
    "Extension",
    "HeaderMap",
    "Request",
    "Claims",
    "Tokens",
    "Authed",
    "MatchedPath",
];

/// The parameter that receives the entity of `entity = "<table>"`: the first one.
fn entity(table: LitStr, handler: &Handler, errors: &mut Errors) -> Option<Entity> {
    let name = &handler.sig.ident;
    let value = table.value();
    let param = match handler.sig.inputs.first() {
        Some(FnArg::Typed(param)) => param,
        // Already refused by `check_parameters`.
        Some(FnArg::Receiver(_)) => return None,
        None => {
            errors.at(
                handler.sig.paren_token.span.join(),
                format!(
                    "`entity = \"{value}\"` passes the caller's entity as the first parameter, \
                     but `{name}` has no parameters: add it, like `async fn {name}(user: User)`"
                ),
            );
            return None;
        }
    };
    let message = match last_segment(&param.ty).as_deref() {
        Some("Authed") => format!(
            "with `entity = \"{value}\"` the first parameter is the entity itself (like \
             `user: User`), loaded and checked by jwt-router; `Authed<..>` is the extractor for \
             handlers without `entity = ..`"
        ),
        Some(extractor) if EXTRACTORS.contains(&extractor) => format!(
            "`entity = \"{value}\"` passes the caller's entity as the first parameter, but the \
             first parameter of `{name}` is the extractor `{extractor}`: put the entity first, \
             like `async fn {name}(user: User, ..)`"
        ),
        _ => {
            return Some(Entity {
                table,
                ty: (*param.ty).clone(),
            });
        }
    };
    errors.spanned(&param.ty, message);
    None
}

/// `T` of the first parameter of type `State<T>` (any path ending in `State`).
fn state_type(handler: &Handler) -> Option<&Type> {
    handler.sig.inputs.iter().find_map(|input| {
        let FnArg::Typed(param) = input else {
            return None;
        };
        let Type::Path(path) = &*param.ty else {
            return None;
        };
        let last = path.path.segments.last()?;
        if last.ident != "State" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        match args.args.first()? {
            GenericArgument::Type(ty) if args.args.len() == 1 => Some(ty),
            _ => None,
        }
    })
}

/// `Json` for `axum::Json<T>`.
fn last_segment(ty: &Type) -> Option<String> {
    let Type::Path(path) = ty else {
        return None;
    };
    path.path.segments.last().map(|last| last.ident.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    use crate::expand::declaration as declare;

    fn errors_of(policy: Policy, args: TokenStream, item: TokenStream) -> Vec<String> {
        match declare(policy, args, item) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|error| error.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_async_fns_with_lifetimes() {
        let errors = errors_of(
            Policy::Public,
            quote!(GET, "/x"),
            quote!(
                pub async fn h<'a>(x: X) -> Y {
                    body
                }
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn refuses_what_axum_cannot_mount_all_at_once() {
        let errors = errors_of(
            Policy::Public,
            quote!(GET, "/x"),
            quote!(
                #[authed(GET, "/x")]
                unsafe fn h<T, const N: usize>(&self, x: impl Trait, Json(j): Json<J>, s: String) {}
            ),
        );
        let expected = [
            "has two policies",
            "must be an `async fn`",
            "cannot be an `unsafe fn`",
            "generic (over type `T`)",
            "generic (over const `N`)",
            "cannot take `self`",
            "`impl Trait` makes `h` generic",
            "`Json` reads the request body, so it must be the last parameter of `h`: move it \
             after `String`",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, expected) in errors.iter().zip(expected) {
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }

    #[test]
    fn finds_the_state_type() {
        let state = |item| {
            let declaration = declare(Policy::Public, quote!(GET, "/x"), item).expect("valid");
            let state = declaration.state;
            quote!(#state).to_string()
        };
        assert_eq!(
            state(quote!(
                async fn h(user: User, axum::extract::State(db): axum::extract::State<Db>) {}
            )),
            "Db"
        );
        assert_eq!(
            state(quote!(
                async fn h(Json(x): Json<X>) {}
            )),
            "()"
        );
        let declaration = declare(
            Policy::Public,
            quote!(GET, "/x", state = App),
            quote!(
                async fn h(State(db): State<Db>) {}
            ),
        )
        .expect("valid");
        let state = declaration.state;
        assert_eq!(quote!(#state).to_string(), "App");
    }

    #[test]
    fn the_entity_is_the_first_parameter() {
        let entity = |item| errors_of(Policy::Authed, quote!(entity = "users"), item);
        assert!(
            entity(quote!(
                async fn h(u: User, s: State<Db>) {}
            ))
            .is_empty()
        );
        let errors = entity(quote!(
            async fn h() {}
        ));
        assert!(errors[0].contains("`h` has no parameters"), "{errors:?}");
        let errors = entity(quote!(
            async fn h(s: State<Db>, u: User) {}
        ));
        assert!(errors[0].contains("put the entity first"), "{errors:?}");
        let errors = entity(quote!(
            async fn h(Authed(u): Authed<User>) {}
        ));
        assert!(errors[0].contains("is the entity itself"), "{errors:?}");
    }

    #[test]
    fn roles_need_a_route_the_guard_knows() {
        let errors = errors_of(
            Policy::Authed,
            quote!(entity = "users", roles = ["admin"], scopes = ["a"]),
            quote!(
                async fn h(u: User) {}
            ),
        );
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(
            errors[0].starts_with("`roles` are checked by the guard"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("`scopes` are checked by the guard"),
            "{errors:?}"
        );
        let declaration = declare(
            Policy::Authed,
            quote!(GET, "/x", roles = ["admin"]),
            quote!(
                async fn h() {}
            ),
        )
        .expect("valid");
        assert_eq!(declaration.roles.len(), 1);
        assert!(declaration.scopes.is_empty());
    }

    #[test]
    fn entity_errors_come_with_every_other_error() {
        let errors = errors_of(
            Policy::Authed,
            quote!(FETCH, "/me", entity = "users"),
            quote!(
                fn me(s: State<Db>) {}
            ),
        );
        let expected = [
            "unknown HTTP method `FETCH`",
            "must be an `async fn`",
            "put the entity first",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, expected) in errors.iter().zip(expected) {
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }
}
