//! Parsing and validating the attribute's arguments: `METHOD, "/path", entity = "..", state = Ty`.
//!
//! Arguments are split at top-level commas first, so one malformed argument is reported
//! without hiding the errors in the others.

use proc_macro2::{Delimiter, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::{Lit, LitStr, Type};

use crate::errors::{Errors, did_you_mean};
use crate::route_path;

/// Which macro is expanding.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Policy {
    Public,
    Ignored,
    Authed,
}

impl Policy {
    /// The attribute's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Ignored => "ignored",
            Self::Authed => "authed",
        }
    }

    /// The runtime's `Policy` variant.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Public => "Public",
            Self::Ignored => "Ignored",
            Self::Authed => "Authed",
        }
    }

    /// Routes of one class share a URL space: `api` routes are mounted under the API prefix,
    /// `root` (ignored) routes are not.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Self::Public | Self::Authed => "api",
            Self::Ignored => "root",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Authed => &["entity", "state"],
            Self::Public | Self::Ignored => &["state"],
        }
    }

    fn keys_help(self) -> &'static str {
        match self {
            Self::Authed => "`entity = \"table\"` and `state = Type`",
            Self::Public | Self::Ignored => "`state = Type`",
        }
    }
}

/// The HTTP methods a route can declare.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

const METHOD_NAMES: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const METHODS_HELP: &str = "GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS";

impl Method {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "HEAD" => Self::Head,
            "OPTIONS" => Self::Options,
            _ => return None,
        })
    }

    /// As written in the attribute: `GET`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
        }
    }

    /// The runtime's `Method` variant: `Get`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Get => "Get",
            Self::Post => "Post",
            Self::Put => "Put",
            Self::Patch => "Patch",
            Self::Delete => "Delete",
            Self::Head => "Head",
            Self::Options => "Options",
        }
    }
}

/// A declared route.
pub(crate) struct Route {
    pub(crate) method: Method,
    pub(crate) path: LitStr,
}

/// The validated arguments of one attribute.
pub(crate) struct Args {
    /// `None` only for `#[authed(entity = "..")]`.
    pub(crate) route: Option<Route>,
    pub(crate) entity: Option<LitStr>,
    pub(crate) state: Option<Type>,
}

/// Parses and validates the arguments of `#[<policy>(...)]`, reporting every error at once.
pub(crate) fn parse(policy: Policy, tokens: TokenStream) -> syn::Result<Args> {
    let mut errors = Errors::default();
    let mut positional: Vec<TokenStream> = Vec::new();
    let mut named: Vec<(Ident, TokenStream, TokenStream)> = Vec::new();
    let mut out_of_order = None;
    for segment in split_at_commas(tokens) {
        if segment.tokens.is_empty() {
            if let Some(comma) = &segment.comma {
                errors.spanned(comma, "expected an argument before this `,`");
            }
            continue;
        }
        let tokens: TokenStream = segment.tokens.iter().cloned().collect();
        match split_key_value(&segment.tokens) {
            Some((key, value)) => named.push((key, value, tokens)),
            None => {
                if !named.is_empty() && out_of_order.is_none() {
                    out_of_order = Some(tokens.clone());
                }
                positional.push(tokens);
            }
        }
    }
    if let Some(tokens) = out_of_order {
        let args: Vec<String> = positional
            .iter()
            .chain(named.iter().map(|(.., tokens)| tokens))
            .map(ToString::to_string)
            .collect();
        errors.spanned(
            tokens,
            format!(
                "the method and path come first, before named arguments: write `#[{}({})]`",
                policy.name(),
                args.join(", ")
            ),
        );
    }

    let named_keys: Vec<String> = named
        .iter()
        .map(|(key, ..)| key.unraw().to_string())
        .collect();
    let has = |name: &str| named_keys.iter().any(|key| key == name);
    // `method = GET, path = ".."` gets its own error below; not also "needs a route".
    let routeless_ok = has("entity") || has("method") || has("path");
    let route = parse_route(policy, &positional, routeless_ok, &mut errors);

    let mut entity = None;
    let mut state = None;
    let mut seen: Vec<&Ident> = Vec::new();
    let mut named_route_reported = false;
    for (key, value, tokens) in &named {
        let key_name = key.unraw().to_string();
        if seen.iter().any(|seen| seen.unraw() == key.unraw()) {
            errors.spanned(key, format!("`{key_name}` is given twice: keep one"));
            continue;
        }
        seen.push(key);
        if value.is_empty() {
            let example = if key_name == "entity" {
                "\"users\""
            } else {
                "AppState"
            };
            errors.spanned(
                tokens,
                format!("`{key_name}` needs a value: `{key_name} = {example}`"),
            );
            continue;
        }
        match key_name.as_str() {
            "entity" if policy != Policy::Authed => errors.spanned(
                tokens,
                format!(
                    "`#[{}]` routes take no token, so they have no entity to load: remove \
                     `entity = ..`, or declare the route with `#[authed(GET, \"/path\", \
                     entity = \"users\")]`",
                    policy.name()
                ),
            ),
            "entity" => entity = errors.take(parse_entity(value)),
            "state" => state = errors.take(parse_state(value)),
            "method" | "path" => {
                if named_route_reported {
                    continue;
                }
                named_route_reported = true;
                let value_of = |name: &str| {
                    named
                        .iter()
                        .find(|(key, ..)| key.unraw() == name)
                        .map(|(_, value, _)| value.to_string())
                };
                let method = value_of("method").unwrap_or_else(|| "GET".to_owned());
                let path = value_of("path").unwrap_or_else(|| "\"/path\"".to_owned());
                errors.spanned(
                    key,
                    format!(
                        "the method and path are written first, without names: \
                         `#[{}({method}, {path})]`",
                        policy.name()
                    ),
                );
            }
            _ => {
                let hint = did_you_mean(&key_name, policy.keys())
                    .map(|key| format!(" (did you mean `{key}`?)"))
                    .unwrap_or_default();
                errors.spanned(
                    key,
                    format!(
                        "unknown argument `{key_name}`{hint}: `#[{}]` takes {} after the \
                         method and path",
                        policy.name(),
                        policy.keys_help()
                    ),
                );
            }
        }
    }

    errors.finish(Args {
        route,
        entity,
        state,
    })
}

/// The method and path: the positional arguments.
fn parse_route(
    policy: Policy,
    positional: &[TokenStream],
    routeless_ok: bool,
    errors: &mut Errors,
) -> Option<Route> {
    let name = policy.name();
    let (method_tokens, path_tokens, extra) = match positional {
        [] if routeless_ok => return None,
        [] => {
            if policy != Policy::Authed {
                errors.at(
                    Span::call_site(),
                    format!(
                        "`#[{name}]` needs a route: write `#[{name}(METHOD, \"/path\")]`, like \
                         `#[{name}(GET, \"/health\")]`; the guard only knows the routes in its \
                         table, so it would treat an undeclared route as authed"
                    ),
                );
            } else {
                errors.at(
                    Span::call_site(),
                    "`#[authed]` needs a route, an entity or both: `#[authed(GET, \"/me\")]`, \
                     `#[authed(GET, \"/me\", entity = \"users\")]`, or `#[authed(entity = \
                     \"users\")]` for a handler you mount yourself",
                );
            }
            return None;
        }
        [only] if looks_like_path(only) => (None, Some(only), &[][..]),
        [only] => (Some(only), None, &[][..]),
        [method, path, extra @ ..] => (Some(method), Some(path), extra),
    };

    for tokens in extra {
        let message = match single_ident(tokens).map(|ident| ident.unraw().to_string()) {
            Some(key) if policy.keys().contains(&key.as_str()) => {
                let example = if key == "entity" {
                    "\"users\""
                } else {
                    "AppState"
                };
                format!("`{key}` needs a value: `{key} = {example}`")
            }
            _ if policy == Policy::Authed && single_lit_str(tokens).is_some() => {
                "the entity is a named argument: `entity = \"users\"`".to_owned()
            }
            _ => format!(
                "unexpected argument: `#[{name}]` takes the method, the path, then {}",
                policy.keys_help()
            ),
        };
        errors.spanned(tokens, message);
    }

    let method = match method_tokens {
        Some(tokens) => parse_method(tokens, errors),
        None => {
            let path = path_tokens.map(|tokens| tokens.to_string());
            let path = path.as_deref().unwrap_or("\"/path\"");
            errors.spanned(
                path_tokens,
                format!("missing HTTP method before the path: write `#[{name}(GET, {path})]`"),
            );
            None
        }
    };
    let path = match path_tokens {
        Some(tokens) => parse_path(tokens, errors),
        None => {
            let method = method_tokens.map(|tokens| tokens.to_string());
            let method = method.as_deref().unwrap_or("METHOD");
            errors.spanned(
                method_tokens,
                format!("missing path after the method: write `#[{name}({method}, \"/path\")]`"),
            );
            None
        }
    };
    Some(Route {
        method: method?,
        path: path?,
    })
}

fn parse_method(tokens: &TokenStream, errors: &mut Errors) -> Option<Method> {
    if let Some(ident) = single_ident(tokens) {
        let name = ident.unraw().to_string();
        if let Some(method) = Method::from_name(&name) {
            return Some(method);
        }
        let upper = name.to_ascii_uppercase();
        let message = if Method::from_name(&upper).is_some() {
            format!("HTTP methods are written in uppercase: write `{upper}`")
        } else if matches!(upper.as_str(), "TRACE" | "CONNECT") {
            format!("`{upper}` routes are not supported: expected {METHODS_HELP}")
        } else {
            match did_you_mean(&name, &METHOD_NAMES) {
                Some(method) => format!(
                    "unknown HTTP method `{name}`: did you mean `{method}`? The methods are \
                     {METHODS_HELP}"
                ),
                None => format!("unknown HTTP method `{name}`: expected {METHODS_HELP}"),
            }
        };
        errors.spanned(ident, message);
        return None;
    }
    if let Some(lit) = single_lit_str(tokens) {
        let upper = lit.value().trim().to_ascii_uppercase();
        let fix = if Method::from_name(&upper).is_some() {
            format!("write `{upper}`")
        } else {
            format!("expected {METHODS_HELP}")
        };
        errors.spanned(
            tokens,
            format!("the HTTP method is an identifier, not a string: {fix}"),
        );
        return None;
    }
    if let Ok(path) = syn::parse2::<syn::Path>(tokens.clone())
        && let Some(last) = path.segments.last()
        && let upper = last.ident.to_string().to_ascii_uppercase()
        && Method::from_name(&upper).is_some()
    {
        errors.spanned(
            tokens,
            format!("write the HTTP method as a bare identifier: `{upper}`"),
        );
        return None;
    }
    errors.spanned(tokens, format!("expected an HTTP method: {METHODS_HELP}"));
    None
}

fn parse_path(tokens: &TokenStream, errors: &mut Errors) -> Option<LitStr> {
    if let Some(lit) = single_lit_str(tokens) {
        return errors.take(route_path::check(&lit)).map(|()| lit);
    }
    let message = if looks_like_path(tokens) {
        let written: String = tokens.to_string().split_whitespace().collect();
        format!("the path must be a string literal: write \"{written}\"")
    } else if single_ident(tokens).is_some() || is_macro_call(tokens) {
        format!(
            "the path must be a string literal, not `{tokens}`: routes are checked and \
             registered at compile time"
        )
    } else {
        "the path must be a string literal, like \"/books/{id}\"".to_owned()
    };
    errors.spanned(tokens, message);
    None
}

fn parse_entity(value: &TokenStream) -> syn::Result<LitStr> {
    if let Some(lit) = single_lit_str(value) {
        if lit.value().is_empty() {
            return Err(syn::Error::new_spanned(
                &lit,
                "`entity` names the entity's table and cannot be empty: `entity = \"users\"`",
            ));
        }
        return Ok(lit);
    }
    let message = if syn::parse2::<syn::Path>(value.clone()).is_ok() {
        format!(
            "`entity` takes the entity's table name as a string, like `entity = \"users\"`; \
             the entity type (`{value}`) is the type of the handler's first parameter"
        )
    } else {
        "`entity` takes the entity's table name as a string: `entity = \"users\"`".to_owned()
    };
    Err(syn::Error::new_spanned(value, message))
}

fn parse_state(value: &TokenStream) -> syn::Result<Type> {
    if let Some(lit) = single_lit_str(value) {
        return Err(syn::Error::new_spanned(
            value,
            format!(
                "`state` takes a type, not a string: write `state = {}`",
                lit.value()
            ),
        ));
    }
    match syn::parse2::<Type>(value.clone()) {
        Ok(Type::Infer(infer)) => Err(syn::Error::new_spanned(
            infer,
            "`state` names the router's state type: `state = AppState`",
        )),
        Ok(ty) => Ok(ty),
        Err(_) => Err(syn::Error::new_spanned(
            value,
            "`state` takes the router's state type: `state = AppState`",
        )),
    }
}

/// The tokens of one argument and the comma that ends it, if any.
struct Segment {
    tokens: Vec<TokenTree>,
    comma: Option<Punct>,
}

/// Splits at commas outside of `<..>`, so `state = HashMap<K, V>` stays one argument.
fn split_at_commas(tokens: TokenStream) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    let mut depth = 0usize;
    let mut after_dash = false;
    for token in tokens {
        if let TokenTree::Punct(punct) = &token {
            match punct.as_char() {
                ',' if depth == 0 => {
                    segments.push(Segment {
                        tokens: std::mem::take(&mut current),
                        comma: Some(punct.clone()),
                    });
                    after_dash = false;
                    continue;
                }
                '<' => depth += 1,
                '>' if !after_dash => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        after_dash = matches!(&token, TokenTree::Punct(p) if p.as_char() == '-' && p.spacing() == Spacing::Joint);
        current.push(token);
    }
    if !current.is_empty() {
        segments.push(Segment {
            tokens: current,
            comma: None,
        });
    }
    segments
}

/// `key = value` (not `key == value`).
fn split_key_value(tokens: &[TokenTree]) -> Option<(Ident, TokenStream)> {
    match tokens {
        [TokenTree::Ident(key), TokenTree::Punct(eq), value @ ..]
            if eq.as_char() == '=' && eq.spacing() == Spacing::Alone =>
        {
            Some((key.clone(), value.iter().cloned().collect()))
        }
        _ => None,
    }
}

fn single(tokens: &TokenStream) -> Option<TokenTree> {
    let mut iter = tokens.clone().into_iter();
    let first = iter.next()?;
    // A literal or ident passed through a `macro_rules!` fragment arrives in a None group.
    if let TokenTree::Group(group) = &first
        && group.delimiter() == Delimiter::None
        && iter.next().is_none()
    {
        return single(&group.stream());
    }
    iter.next().is_none().then_some(first)
}

fn single_ident(tokens: &TokenStream) -> Option<Ident> {
    match single(tokens)? {
        TokenTree::Ident(ident) => Some(ident),
        _ => None,
    }
}

fn single_lit_str(tokens: &TokenStream) -> Option<LitStr> {
    match single(tokens)? {
        TokenTree::Literal(literal) => match Lit::new(literal) {
            Lit::Str(lit) => Some(lit),
            _ => None,
        },
        _ => None,
    }
}

/// A string literal that is not a method name, or unquoted tokens starting with `/`.
fn looks_like_path(tokens: &TokenStream) -> bool {
    if let Some(lit) = single_lit_str(tokens) {
        let value = lit.value();
        return Method::from_name(value.trim().to_ascii_uppercase().as_str()).is_none();
    }
    matches!(tokens.clone().into_iter().next(), Some(TokenTree::Punct(p)) if p.as_char() == '/')
}

fn is_macro_call(tokens: &TokenStream) -> bool {
    tokens
        .clone()
        .into_iter()
        .any(|token| matches!(token, TokenTree::Punct(p) if p.as_char() == '!'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn error_of(policy: Policy, tokens: TokenStream) -> String {
        match parse(policy, tokens) {
            Ok(_) => panic!("accepted"),
            Err(error) => error
                .into_iter()
                .map(|error| error.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn parses_every_accepted_form() {
        for method in METHOD_NAMES {
            let ident = Ident::new(method, Span::call_site());
            let args = parse(Policy::Public, quote!(#ident, "/books/{id}")).expect("valid");
            let route = args.route.expect("has a route");
            assert_eq!(route.method.as_str(), method);
            assert_eq!(route.path.value(), "/books/{id}");
        }
        let args = parse(
            Policy::Authed,
            quote!(GET, "/books", entity = "users", state = HashMap<String, Vec<u8>>,),
        )
        .expect("valid");
        assert_eq!(args.entity.expect("entity").value(), "users");
        assert!(args.state.is_some());
        let args = parse(Policy::Authed, quote!(entity = "users")).expect("valid");
        assert!(args.route.is_none());
        let args = parse(Policy::Ignored, quote!(GET, r"/", state = fn() -> u8)).expect("valid");
        assert!(args.state.is_some());
    }

    #[test]
    fn method_errors_say_what_to_write() {
        let error = error_of(Policy::Public, quote!(FETCH, "/x"));
        assert!(
            error.contains("unknown HTTP method `FETCH`: did you mean `PATCH`?"),
            "{error}"
        );
        let error = error_of(Policy::Public, quote!(SUBSCRIBE, "/x"));
        assert!(error.contains("`SUBSCRIBE`: expected GET"), "{error}");
        assert!(error_of(Policy::Public, quote!(get, "/x")).contains("write `GET`"));
        assert!(
            error_of(Policy::Public, quote!("GET", "/x")).contains("not a string: write `GET`")
        );
        assert!(error_of(Policy::Public, quote!(Method::GET, "/x")).contains("bare identifier"));
        assert!(error_of(Policy::Public, quote!("/x")).contains("missing HTTP method"));
        assert!(error_of(Policy::Public, quote!(TRACE, "/x")).contains("not supported"));
    }

    #[test]
    fn path_errors_say_what_to_write() {
        assert!(error_of(Policy::Public, quote!(GET)).contains("missing path"));
        assert!(
            error_of(Policy::Public, quote!(GET, /books/{id})).contains("write \"/books/{id}\"")
        );
        assert!(
            error_of(Policy::Public, quote!(GET, BOOKS)).contains("string literal, not `BOOKS`")
        );
        assert!(error_of(Policy::Public, quote!(GET, "/books/:id")).contains("{id}"));
    }

    #[test]
    fn routeless_attributes_are_refused_except_authed_with_entity() {
        assert!(error_of(Policy::Public, quote!()).contains("`#[public(METHOD, \"/path\")]`"));
        assert!(error_of(Policy::Ignored, quote!()).contains("`#[ignored(METHOD, \"/path\")]`"));
        assert!(error_of(Policy::Authed, quote!()).contains("needs a route, an entity or both"));
    }

    #[test]
    fn named_argument_errors() {
        let error = error_of(Policy::Authed, quote!(GET, "/x", entiy = "users"));
        assert!(error.contains("did you mean `entity`?"), "{error}");
        assert!(
            error.contains("`entity = \"table\"` and `state = Type`"),
            "{error}"
        );
        let error = error_of(Policy::Authed, quote!(GET, "/x", state = A, state = B));
        assert!(error.contains("`state` is given twice"), "{error}");
        let error = error_of(Policy::Public, quote!(GET, "/x", entity = "users"));
        assert!(
            error.contains("`#[public]` routes take no token"),
            "{error}"
        );
        let error = error_of(Policy::Authed, quote!(GET, "/x", entity = User));
        assert!(
            error.contains("type of the handler's first parameter"),
            "{error}"
        );
        let error = error_of(Policy::Authed, quote!(GET, "/x", entity = ""));
        assert!(error.contains("cannot be empty"), "{error}");
        let error = error_of(Policy::Authed, quote!(GET, "/x", state = "AppState"));
        assert!(error.contains("write `state = AppState`"), "{error}");
        let error = error_of(Policy::Authed, quote!(GET, "/x", state = 1 + 2));
        assert!(error.contains("state type"), "{error}");
        let error = error_of(Policy::Authed, quote!(GET, "/x", state));
        assert!(error.contains("`state` needs a value"), "{error}");
    }

    #[test]
    fn collects_every_error() {
        let error = parse(
            Policy::Public,
            quote!(get, "books", entity = "users", color = 1),
        )
        .err()
        .expect("refused");
        assert_eq!(error.into_iter().count(), 4);
    }
}
