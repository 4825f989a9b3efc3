//! The annotated function: parsing it (the body stays unparsed tokens) and checking that axum
//! can mount it.

use proc_macro2::{Delimiter, Group, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::{
    Attribute, FnArg, GenericArgument, GenericParam, LitStr, PatType, PathArguments, Signature,
    Type, Visibility,
};

use crate::attr::Policy;
use crate::errors::Errors;

/// An `async fn` handler.
pub(crate) struct Handler {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Group,
}

impl Parse for Handler {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body: Group = input.parse()?;
        if body.delimiter() != Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the function's body"));
        }
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// Parses the item and checks everything about it that does not depend on the arguments.
pub(crate) fn inspect(policy: Policy, item: TokenStream) -> syn::Result<Handler> {
    let handler: Handler = syn::parse2(item).map_err(|error| {
        syn::Error::new(
            error.span(),
            format!(
                "`#[{}]` goes on an `async fn` handler ({error})",
                policy.name()
            ),
        )
    })?;
    let mut errors = Errors::default();
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

    let sig = &handler.sig;
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            format!(
                "`{name}` must be an `async fn`: axum handlers are async; write `async fn {name}`"
            ),
        );
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
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
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                receiver,
                "a handler cannot take `self`: axum mounts free functions; declare the handler \
                 outside the `impl` block and call the method from it",
            ),
            FnArg::Typed(PatType { ty, .. }) => {
                if let Type::ImplTrait(_) = **ty {
                    errors.spanned(
                        ty,
                        format!(
                            "`impl Trait` makes `{name}` generic, and the route table mounts one \
                             concrete function per route: name the concrete type"
                        ),
                    );
                }
            }
        }
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "a handler cannot be variadic");
    }
    errors.finish(handler)
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

impl Handler {
    /// The parameter that receives the entity of `entity = "<table>"`: the first one.
    pub(crate) fn entity_param(&self, table: &LitStr) -> syn::Result<&PatType> {
        let name = &self.sig.ident;
        let table = table.value();
        match self.sig.inputs.first() {
            Some(FnArg::Typed(param)) => {
                let last = match &*param.ty {
                    Type::Path(path) => path.path.segments.last(),
                    _ => None,
                };
                match last {
                    Some(last) if last.ident == "Authed" => Err(syn::Error::new_spanned(
                        &param.ty,
                        format!(
                            "with `entity = \"{table}\"` the first parameter is the entity itself \
                             (like `user: User`), loaded and checked by jwt-router; `Authed<..>` \
                             is the extractor for handlers without `entity = ..`"
                        ),
                    )),
                    Some(last) if EXTRACTORS.contains(&last.ident.to_string().as_str()) => {
                        Err(syn::Error::new_spanned(
                            &param.ty,
                            format!(
                                "`entity = \"{table}\"` passes the caller's entity as the first \
                                 parameter, but the first parameter of `{name}` is the \
                                 extractor `{}`: put the entity first, like \
                                 `async fn {name}(user: User, ..)`",
                                last.ident
                            ),
                        ))
                    }
                    _ => Ok(param),
                }
            }
            // A receiver is already reported by `inspect`.
            Some(FnArg::Receiver(receiver)) => Err(syn::Error::new_spanned(
                receiver,
                "a handler cannot take `self`",
            )),
            None => Err(syn::Error::new(
                self.sig.paren_token.span.join(),
                format!(
                    "`entity = \"{table}\"` passes the caller's entity as the first parameter, but \
                     `{name}` has no parameters: add it, like `async fn {name}(user: User)`"
                ),
            )),
        }
    }

    /// `T` of the first parameter of type `State<T>` (any path ending in `State`).
    pub(crate) fn state_type(&self) -> Option<&Type> {
        self.sig.inputs.iter().find_map(|input| {
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

    /// The `#[cfg(..)]` attributes: every generated item shares the handler's configuration.
    pub(crate) fn cfgs(&self) -> impl Iterator<Item = &Attribute> {
        self.attrs.iter().filter(|attr| attr.path().is_ident("cfg"))
    }

    /// Attributes for the renamed function that holds the body: `cfg`s and lint levels.
    pub(crate) fn body_attrs(&self) -> impl Iterator<Item = &Attribute> {
        self.attrs.iter().filter(|attr| {
            ["cfg", "allow", "expect", "warn", "deny", "forbid"]
                .iter()
                .any(|name| attr.path().is_ident(name))
        })
    }

    /// Attributes for the mountable wrapper: all of the user's but `#[expect(..)]`, which the
    /// wrapper's generated body would leave unfulfilled.
    pub(crate) fn wrapper_attrs(&self) -> impl Iterator<Item = &Attribute> {
        self.attrs
            .iter()
            .filter(|attr| !attr.path().is_ident("expect"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors_of(item: TokenStream) -> Vec<String> {
        match inspect(Policy::Public, item) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|error| error.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_async_fns_with_lifetimes() {
        assert!(
            errors_of(quote!(
                pub async fn h<'a>(x: X) -> Y {
                    body
                }
            ))
            .is_empty()
        );
    }

    #[test]
    fn refuses_what_axum_cannot_mount_all_at_once() {
        let errors = errors_of(quote!(
            #[authed(GET, "/x")]
            unsafe fn h<T, const N: usize>(&self, x: impl Trait) {}
        ));
        let expected = [
            "has two policies",
            "must be an `async fn`",
            "cannot be an `unsafe fn`",
            "generic (over type `T`)",
            "generic (over const `N`)",
            "cannot take `self`",
            "`impl Trait` makes `h` generic",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, expected) in errors.iter().zip(expected) {
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }

    #[test]
    fn finds_the_state_type() {
        let handler = inspect(
            Policy::Public,
            quote!(
                async fn h(user: User, axum::extract::State(db): axum::extract::State<Db>) {}
            ),
        )
        .expect("valid");
        let state = handler.state_type().expect("has a State<T>");
        assert_eq!(quote!(#state).to_string(), "Db");
        let handler = inspect(
            Policy::Public,
            quote!(
                async fn h(Json(x): Json<X>) {}
            ),
        )
        .expect("valid");
        assert!(handler.state_type().is_none());
    }

    /// The error of `entity_param` (`PatType` is not `Debug`, so no `expect_err`).
    fn entity_error(handler: &Handler, table: &LitStr) -> String {
        match handler.entity_param(table) {
            Ok(_) => panic!("accepted"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn the_entity_is_the_first_parameter() {
        let table: LitStr = syn::parse_quote!("users");
        let handler = inspect(
            Policy::Authed,
            quote!(
                async fn h(u: User, s: State<Db>) {}
            ),
        )
        .expect("valid");
        assert!(handler.entity_param(&table).is_ok());
        let handler = inspect(
            Policy::Authed,
            quote!(
                async fn h() {}
            ),
        )
        .expect("valid");
        let error = entity_error(&handler, &table);
        assert!(error.contains("`h` has no parameters"), "{error}");
        let handler = inspect(
            Policy::Authed,
            quote!(
                async fn h(s: State<Db>, u: User) {}
            ),
        )
        .expect("valid");
        let error = entity_error(&handler, &table);
        assert!(error.contains("put the entity first"), "{error}");
    }
}
