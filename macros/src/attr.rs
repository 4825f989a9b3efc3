//! Parsing the attribute's arguments: `METHOD, "/path", entity = "..", roles = [".."],
//! scopes = [".."], state = Ty`.
//!
//! A scanner splits the arguments at top-level commas into positional and `key = value`
//! ones, so one malformed argument is reported without hiding the errors in the others; then
//! one function per argument turns its tokens into an [`Args`] field or an error.

use proc_macro2::{Delimiter, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::{Lit, LitStr, Type};

use crate::ast::{Args, Grant, Method, Policy, Route};
use crate::errors::{Errors, did_you_mean};
use crate::route_path;

/// Parses the arguments of `#[<policy>(...)]`, recording every error in `errors`.
pub(crate) fn parse(policy: Policy, tokens: TokenStream, errors: &mut Errors) -> Args {
    let scanned = scan(policy, tokens, errors);
    let route = parse_route(policy, &scanned, errors);
    let named = parse_named(policy, &scanned.named, errors);
    Args {
        route,
        entity: named.entity,
        state: named.state,
        roles: named.roles,
        scopes: named.scopes,
        fresh: parse_flags(policy, scanned.flags, errors),
    }
}

/// The flags: `fresh`, on `#[authed]` only, once.
fn parse_flags(policy: Policy, flags: Vec<Ident>, errors: &mut Errors) -> Option<Ident> {
    let mut fresh = None;
    for flag in flags {
        if policy != Policy::Authed {
            errors.spanned(
                &flag,
                format!(
                    "`#[{}]` routes take no token, so there is no freshness to check: remove \
                     `fresh`, or declare the route with `#[authed(POST, \"/path\", fresh)]`",
                    policy.name()
                ),
            );
        } else if fresh.is_some() {
            errors.spanned(&flag, "`fresh` is given twice: keep one");
        } else {
            fresh = Some(flag);
        }
    }
    fresh
}

/// The arguments as written, split at top-level commas.
struct Scanned {
    positional: Vec<TokenStream>,
    named: Vec<Named>,
    /// Bare flags: `fresh`.
    flags: Vec<Ident>,
}

/// `key = value`, and the whole argument for errors that span it.
struct Named {
    key: Ident,
    value: TokenStream,
    tokens: TokenStream,
}

impl Named {
    fn key(&self) -> String {
        self.key.unraw().to_string()
    }
}

/// Splits the arguments; refuses empty arguments and positional ones after named ones.
fn scan(policy: Policy, tokens: TokenStream, errors: &mut Errors) -> Scanned {
    let mut scanned = Scanned {
        positional: Vec::new(),
        named: Vec::new(),
        flags: Vec::new(),
    };
    let mut out_of_order = None;
    for segment in split_at_commas(tokens) {
        if segment.tokens.is_empty() {
            if let Some(comma) = &segment.comma {
                errors.spanned(comma, "expected an argument before this `,`");
            }
            continue;
        }
        let tokens: TokenStream = segment.tokens.iter().cloned().collect();
        if let [TokenTree::Ident(flag)] = segment.tokens.as_slice()
            && flag == "fresh"
        {
            scanned.flags.push(flag.clone());
            continue;
        }
        match split_key_value(&segment.tokens) {
            Some((key, value)) => scanned.named.push(Named { key, value, tokens }),
            None => {
                if !scanned.named.is_empty() && out_of_order.is_none() {
                    out_of_order = Some(tokens.clone());
                }
                scanned.positional.push(tokens);
            }
        }
    }
    if let Some(tokens) = out_of_order {
        let args: Vec<String> = scanned
            .positional
            .iter()
            .chain(scanned.named.iter().map(|named| &named.tokens))
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
    scanned
}

/// The method and path: the positional arguments.
fn parse_route(policy: Policy, scanned: &Scanned, errors: &mut Errors) -> Option<Route> {
    let (method_tokens, path_tokens, extra) = match scanned.positional.as_slice() {
        [] => {
            // `method = GET, path = ".."` gets its own error from `parse_named`.
            let routeless_ok = scanned
                .named
                .iter()
                .any(|named| matches!(named.key().as_str(), "entity" | "method" | "path"));
            if !routeless_ok {
                errors.at(Span::call_site(), missing_route(policy));
            }
            return None;
        }
        [only] if looks_like_path(only) => (None, Some(only), &[][..]),
        [only] => (Some(only), None, &[][..]),
        [method, path, extra @ ..] => (Some(method), Some(path), extra),
    };
    for tokens in extra {
        errors.spanned(tokens, extra_argument(policy, tokens));
    }
    let name = policy.name();
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

fn missing_route(policy: Policy) -> String {
    match policy {
        Policy::Authed => {
            "`#[authed]` needs a route, an entity or both: `#[authed(GET, \"/me\")]`, \
                           `#[authed(GET, \"/me\", entity = \"users\")]`, or `#[authed(entity = \
                           \"users\")]` for a handler you mount yourself"
                .to_owned()
        }
        Policy::Public | Policy::Ignored => {
            let name = policy.name();
            format!(
                "`#[{name}]` needs a route: write `#[{name}(METHOD, \"/path\")]`, like \
                 `#[{name}(GET, \"/health\")]`; the guard only knows the routes in its table, \
                 so it would treat an undeclared route as authed"
            )
        }
    }
}

/// A third positional argument: most often a named argument without its `key =`.
fn extra_argument(policy: Policy, tokens: &TokenStream) -> String {
    match single_ident(tokens).map(|ident| ident.unraw().to_string()) {
        Some(key) if policy.keys().contains(&key.as_str()) => needs_a_value(&key),
        _ if policy == Policy::Authed && single_lit_str(tokens).is_some() => {
            "the entity is a named argument: `entity = \"users\"`".to_owned()
        }
        _ => format!(
            "unexpected argument: `#[{}]` takes the method, the path, then {}",
            policy.name(),
            policy.keys_help()
        ),
    }
}

fn needs_a_value(key: &str) -> String {
    let example = match key {
        "entity" => "\"users\"",
        "roles" => "[\"admin\"]",
        "scopes" => "[\"books:write\"]",
        _ => "AppState",
    };
    format!("`{key}` needs a value: `{key} = {example}`")
}

fn parse_method(tokens: &TokenStream, errors: &mut Errors) -> Option<Method> {
    if let Some(ident) = single_ident(tokens) {
        let name = ident.unraw().to_string();
        let method = Method::from_name(&name);
        if method.is_none() {
            errors.spanned(ident, unknown_method(&name));
        }
        return method;
    }
    let help = Method::help();
    let message = if let Some(lit) = single_lit_str(tokens) {
        let upper = lit.value().trim().to_ascii_uppercase();
        let fix = if Method::from_name(&upper).is_some() {
            format!("write `{upper}`")
        } else {
            format!("expected {help}")
        };
        format!("the HTTP method is an identifier, not a string: {fix}")
    } else if let Some(upper) = method_at_end_of_path(tokens) {
        format!("write the HTTP method as a bare identifier: `{upper}`")
    } else {
        format!("expected an HTTP method: {help}")
    };
    errors.spanned(tokens, message);
    None
}

fn unknown_method(name: &str) -> String {
    let help = Method::help();
    let upper = name.to_ascii_uppercase();
    if Method::from_name(&upper).is_some() {
        format!("HTTP methods are written in uppercase: write `{upper}`")
    } else if matches!(upper.as_str(), "TRACE" | "CONNECT") {
        format!("`{upper}` routes are not supported: expected {help}")
    } else {
        match did_you_mean(name, &crate::ast::METHODS) {
            Some(method) => format!(
                "unknown HTTP method `{name}`: did you mean `{method}`? The methods are {help}"
            ),
            None => format!("unknown HTTP method `{name}`: expected {help}"),
        }
    }
}

/// `Method::GET`, `http::Method::POST`: the method's name in uppercase.
fn method_at_end_of_path(tokens: &TokenStream) -> Option<String> {
    let path = syn::parse2::<syn::Path>(tokens.clone()).ok()?;
    let upper = path.segments.last()?.ident.to_string().to_ascii_uppercase();
    Method::from_name(&upper).map(|_| upper)
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

/// The named arguments' values, each `None` when absent or refused.
#[derive(Default)]
struct NamedArgs {
    entity: Option<LitStr>,
    state: Option<Type>,
    roles: Option<Grant>,
    scopes: Option<Grant>,
}

/// The named arguments: `entity`, `roles`, `scopes` and `state`.
fn parse_named(policy: Policy, named: &[Named], errors: &mut Errors) -> NamedArgs {
    let mut args = NamedArgs::default();
    let mut named_route_reported = false;
    for (i, argument) in named.iter().enumerate() {
        let key = argument.key();
        if named[..i].iter().any(|earlier| earlier.key() == key) {
            errors.spanned(&argument.key, format!("`{key}` is given twice: keep one"));
            continue;
        }
        if argument.value.is_empty() {
            errors.spanned(&argument.tokens, needs_a_value(&key));
            continue;
        }
        match key.as_str() {
            "entity" if policy != Policy::Authed => {
                errors.spanned(&argument.tokens, entity_without_token(policy));
            }
            "entity" => args.entity = errors.take(parse_entity(&argument.value)),
            "roles" | "scopes" if policy != Policy::Authed => {
                errors.spanned(&argument.tokens, grant_without_token(policy, &key));
            }
            "roles" => args.roles = parse_grant(argument, errors),
            "fresh" => errors.spanned(
                &argument.tokens,
                "`fresh` is a flag and takes no value: write `fresh`, as in \
                 `#[authed(POST, \"/password\", fresh)]`",
            ),
            "scopes" => args.scopes = parse_grant(argument, errors),
            "state" => args.state = errors.take(parse_state(&argument.value)),
            // One error for both: it shows the whole corrected attribute.
            "method" | "path" if named_route_reported => {}
            "method" | "path" => {
                named_route_reported = true;
                errors.spanned(&argument.key, named_route(policy, named));
            }
            _ => errors.spanned(&argument.key, unknown_key(policy, &key)),
        }
    }
    args
}

fn grant_without_token(policy: Policy, key: &str) -> String {
    format!(
        "`#[{}]` routes take no token, so the guard has no {key} to check: remove `{key} = ..`, \
         or declare the route with `#[authed(GET, \"/path\", {key} = [..])]`",
        policy.name()
    )
}

/// `roles = ["a", "b"]`: a bracketed list of string literals, each a scope token (RFC 6749
/// §3.3), none twice. Every bad element is reported; `None` if any was.
fn parse_grant(argument: &Named, errors: &mut Errors) -> Option<Grant> {
    let key = argument.key();
    let what = key.trim_end_matches('s');
    let group = match single(&argument.value) {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => group,
        _ => {
            let written = single_lit_str(&argument.value)
                .map_or_else(|| format!("\"{what}\""), |lit| format!("{:?}", lit.value()));
            errors.spanned(
                &argument.value,
                format!("`{key}` takes a list of strings: `{key} = [{written}]`"),
            );
            return None;
        }
    };
    let mut names: Vec<LitStr> = Vec::new();
    let mut refused = false;
    for segment in split_at_commas(group.stream()) {
        let tokens: TokenStream = segment.tokens.into_iter().collect();
        let Some(lit) = single_lit_str(&tokens) else {
            let message = if tokens.is_empty() {
                format!("expected a {what} before this `,`")
            } else {
                format!("each {what} is a string literal: `{key} = [\"{what}\"]`")
            };
            match (tokens.is_empty(), &segment.comma) {
                (true, Some(comma)) => errors.spanned(comma, message),
                _ => errors.spanned(&tokens, message),
            }
            refused = true;
            continue;
        };
        let value = lit.value();
        let problem = if value.is_empty() {
            Some(format!("a {what} cannot be empty"))
        } else if names.iter().any(|earlier| earlier.value() == value) {
            Some(format!("the {what} `{value}` is listed twice: keep one"))
        } else {
            value.chars().find(|c| !is_scope_char(*c)).map(|c| match c {
                ' ' => format!(
                    "a {what} cannot hold a space (RFC 6749 §3.3): for two, write \
                     `{key} = [\"a\", \"b\"]`"
                ),
                c => format!(
                    "`{}` cannot be in a {what}: roles and scopes are RFC 6749 §3.3 scope \
                     tokens, printable ASCII except space, `\"` and `\\`",
                    if c.is_ascii_graphic() {
                        c.to_string()
                    } else {
                        c.escape_unicode().to_string()
                    }
                ),
            })
        };
        match problem {
            Some(message) => {
                errors.spanned(&lit, message);
                refused = true;
            }
            None => names.push(lit),
        }
    }
    if names.is_empty() && !refused {
        errors.spanned(
            &group,
            format!(
                "`{key} = []` lists no {what}: name at least one, like `{key} = [\"{}\"]`, \
                 or remove `{key}` to admit any valid token",
                if key == "roles" {
                    "admin"
                } else {
                    "books:write"
                }
            ),
        );
        return None;
    }
    (!refused).then(|| Grant {
        key: argument.key.clone(),
        names,
    })
}

/// RFC 6749 §3.3's `NQCHAR`: `%x21 / %x23-5B / %x5D-7E`.
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

fn entity_without_token(policy: Policy) -> String {
    format!(
        "`#[{}]` routes take no token, so they have no entity to load: remove `entity = ..`, or \
         declare the route with `#[authed(GET, \"/path\", entity = \"users\")]`",
        policy.name()
    )
}

/// `method = GET, path = "/x"`: the attribute as it should be written.
fn named_route(policy: Policy, named: &[Named]) -> String {
    let value_of = |name: &str| {
        named
            .iter()
            .find(|named| named.key() == name)
            .map(|named| named.value.to_string())
    };
    let method = value_of("method").unwrap_or_else(|| "GET".to_owned());
    let path = value_of("path").unwrap_or_else(|| "\"/path\"".to_owned());
    format!(
        "the method and path are written first, without names: `#[{}({method}, {path})]`",
        policy.name()
    )
}

fn unknown_key(policy: Policy, key: &str) -> String {
    let hint = did_you_mean(key, policy.keys())
        .map(|key| format!(" (did you mean `{key}`?)"))
        .unwrap_or_default();
    format!(
        "unknown argument `{key}`{hint}: `#[{}]` takes {} after the method and path",
        policy.name(),
        policy.keys_help()
    )
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

    fn parse_all(policy: Policy, tokens: TokenStream) -> syn::Result<Args> {
        let mut errors = Errors::default();
        let args = parse(policy, tokens, &mut errors);
        errors.finish(args)
    }

    fn error_of(policy: Policy, tokens: TokenStream) -> String {
        match parse_all(policy, tokens) {
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
        for method in crate::ast::METHODS {
            let ident = Ident::new(method, Span::call_site());
            let args = parse_all(Policy::Public, quote!(#ident, "/books/{id}")).expect("valid");
            let route = args.route.expect("has a route");
            assert_eq!(route.method.as_str(), method);
            assert_eq!(route.path.value(), "/books/{id}");
        }
        let args = parse_all(
            Policy::Authed,
            quote!(GET, "/books", entity = "users", state = HashMap<String, Vec<u8>>,),
        )
        .expect("valid");
        assert_eq!(args.entity.expect("entity").value(), "users");
        assert!(args.state.is_some());
        let args = parse_all(Policy::Authed, quote!(entity = "users")).expect("valid");
        assert!(args.route.is_none());
        let args =
            parse_all(Policy::Ignored, quote!(GET, r"/", state = fn() -> u8)).expect("valid");
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
    fn roles_and_scopes_are_lists_of_scope_tokens() {
        let args = parse_all(
            Policy::Authed,
            quote!(
                GET,
                "/x",
                roles = ["admin", "editor",],
                scopes = ["books:write"]
            ),
        )
        .expect("valid");
        let names = |grant: Option<Grant>| -> Vec<String> {
            grant
                .expect("given")
                .names
                .iter()
                .map(LitStr::value)
                .collect()
        };
        assert_eq!(names(args.roles), ["admin", "editor"]);
        assert_eq!(names(args.scopes), ["books:write"]);
        let error = error_of(Policy::Authed, quote!(GET, "/x", roles = []));
        assert!(error.contains("`roles = []` lists no role"), "{error}");
        let error = error_of(Policy::Authed, quote!(GET, "/x", roles = ["a", "b", "a"]));
        assert!(error.contains("the role `a` is listed twice"), "{error}");
        let error = error_of(Policy::Authed, quote!(GET, "/x", scopes = ["books write"]));
        assert!(error.contains("a scope cannot hold a space"), "{error}");
        let error = error_of(Policy::Authed, quote!(GET, "/x", scopes = ["é"]));
        assert!(error.contains("`\\u{e9}` cannot be in a scope"), "{error}");
        let error = error_of(Policy::Authed, quote!(GET, "/x", roles = [""]));
        assert!(error.contains("a role cannot be empty"), "{error}");
        let error = error_of(Policy::Authed, quote!(GET, "/x", roles = "admin"));
        assert!(error.contains("`roles = [\"admin\"]`"), "{error}");
        let error = error_of(Policy::Authed, quote!(GET, "/x", roles = [admin]));
        assert!(error.contains("each role is a string literal"), "{error}");
        let error = error_of(Policy::Public, quote!(GET, "/x", roles = ["admin"]));
        assert!(error.contains("no roles to check"), "{error}");
        let error = error_of(Policy::Ignored, quote!(GET, "/x", scopes = ["a"]));
        assert!(
            error.contains("`#[ignored]` routes take no token"),
            "{error}"
        );
        for (bad, count) in [
            (quote!(["a", "a", "", "b c"]), 3),
            (quote!(["ok", 1, x]), 2),
        ] {
            let error = parse_all(Policy::Authed, quote!(GET, "/x", roles = #bad))
                .err()
                .expect("refused");
            assert_eq!(error.into_iter().count(), count, "{bad}");
        }
    }

    #[test]
    fn collects_every_error() {
        let error = parse_all(
            Policy::Public,
            quote!(get, "books", entity = "users", color = 1),
        )
        .err()
        .expect("refused");
        assert_eq!(error.into_iter().count(), 4);
    }
}
