//! Property: [`validate`] accepts a path iff axum 0.8 mounts it, except where our documented,
//! stricter rules refuse a path that axum takes; the model states each such rule and its reason.
//!
//! "axum mounts it" is what `Router::new().route(path, ..)` does in axum 0.8.9
//! (`routing/path_router.rs`): `validate_path` refuses an empty path, a path not starting
//! with '/', and, since `v7_checks` is on by default, any segment starting with ':' or '*';
//! then `set_node` inserts the path into a `matchit::Router` (0.8.4, the version axum 0.8
//! routes with) and panics on its `InsertError`. matchit's `normalize_params` itself panics
//! ("Too many route parameters.") past 25 named parameters. Conflicts need two routes and are
//! the runtime's business, so every path is inserted into a fresh router.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use proptest::prelude::*;

use super::validate;

/// matchit's panic message for a 26th named parameter.
const TOO_MANY: &str = "Too many route parameters.";

/// axum 0.8.9's verdict on mounting `path` as the only route of a router.
fn axum_accepts(path: &str) -> bool {
    // `path_router::validate_path` with `v7_checks` (the default: `without_v07_checks` is
    // opt-in).
    if path.is_empty() || !path.starts_with('/') {
        return false;
    }
    if path
        .split('/')
        .any(|segment| segment.starts_with(':') || segment.starts_with('*'))
    {
        return false;
    }
    // `PathRouter::set_node`: `Router::route` panics on an `InsertError`.
    quiet_too_many_params();
    let inserted = panic::catch_unwind(AssertUnwindSafe(|| {
        matchit::Router::new().insert(path, ()).is_ok()
    }));
    match inserted {
        Ok(inserted) => inserted,
        Err(payload) => {
            assert_eq!(
                payload.downcast_ref::<&str>(),
                Some(&TOO_MANY),
                "matchit panicked on {path:?} for another reason"
            );
            false
        }
    }
}

/// Keeps the expected matchit panic out of the test output; any other panic is reported as
/// before.
fn quiet_too_many_params() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&TOO_MANY) {
                previous(info);
            }
        }));
    });
}

/// The parameter names of a path matchit accepted, catch-alls without their '*': every
/// unescaped '{' opens a name that runs to the next unescaped '}' (`{{` and `}}` are literal
/// braces, as in matchit's `UnescapedRoute`).
fn param_names(path: &str) -> Vec<String> {
    let bytes = path.as_bytes();
    let mut names = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let escaped = matches!(byte, b'{' | b'}') && bytes.get(i + 1) == Some(&byte);
        i += if escaped { 2 } else { 1 };
        match (&mut current, byte, escaped) {
            (None, b'{', false) => current = Some(Vec::new()),
            (Some(name), b'}', false) => {
                let name = String::from_utf8_lossy(name).into_owned();
                names.push(name.strip_prefix('*').unwrap_or(&name).to_owned());
                current = None;
            }
            (Some(name), _, _) => name.push(byte),
            (None, ..) => {}
        }
    }
    names
}

/// Why `validate` refuses a path that axum mounts: the stricter rules that the module docs of
/// `route_path` and the macros' rustdoc promise. `None` if none applies.
fn stricter_rule(path: &str) -> Option<&'static str> {
    if path.contains('?') {
        return Some("a query string is never part of a route");
    }
    if path.contains('#') {
        return Some("clients never send the fragment");
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("request paths never contain whitespace or control characters");
    }
    let names = param_names(path);
    let identifier = |name: &String| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if !names.iter().all(identifier) {
        return Some("parameter names are identifiers, like the fields they are extracted into");
    }
    if names
        .iter()
        .enumerate()
        .any(|(i, name)| names[..i].contains(name))
    {
        return Some("two parameters with one name cannot both be extracted");
    }
    None
}

/// Pieces of paths: literals, parameters of every shape, axum 0.7 syntax, stray and escaped
/// braces, what a URL has that a route must not, and non-ASCII text.
fn piece() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "id", "id", "user_id", "_", "A1", "x", "1", "user-id", "", ":id", "*", "a b", "\u{e9}",
        "a{b", "a}}b", "a/b",
    ]);
    prop_oneof![
        6 => Just("/".to_owned()),
        5 => prop::sample::select(vec![
            "books", "v1", "file-", "a", "caf\u{e9}", "\u{1f600}", "a:b", "x*y", "%20", "-",
        ])
        .prop_map(str::to_owned),
        4 => names.clone().prop_map(|name| format!("{{{name}}}")),
        2 => names.prop_map(|name| format!("{{*{name}}}")),
        1 => prop::sample::select(vec![":id", ":", "*rest", "*"]).prop_map(str::to_owned),
        2 => prop::sample::select(vec!["{", "}", "{{", "}}"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["?", "?q=1", "#", "#top", " ", "\t", "\n", "\u{7}", "\u{a0}"])
            .prop_map(str::to_owned),
    ]
}

/// Mostly rooted paths, some relative or empty; plus runs of parameters around matchit's limit.
fn path() -> impl Strategy<Value = String> {
    let start = prop_oneof![
        8 => Just("/"),
        1 => prop::sample::select(vec!["", "books", "{", ":", "*", " "]),
    ];
    let pieces = (start, prop::collection::vec(piece(), 0..8))
        .prop_map(|(start, pieces)| format!("{start}{}", pieces.concat()));
    let catch_all = prop::sample::select(vec![None, Some("rest"), Some("p0")]);
    let many_params =
        (20..=28usize, any::<bool>(), catch_all).prop_map(|(count, repeat, catch_all)| {
            let mut path: String = (0..count).map(|i| format!("/{{p{i}}}")).collect();
            if repeat {
                path.push_str("/{p0}");
            }
            if let Some(name) = catch_all {
                path.push_str(&format!("/{{*{name}}}"));
            }
            path
        });
    prop_oneof![9 => pieces, 1 => many_params]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn validate_accepts_a_path_iff_axum_does_or_a_stricter_rule_refuses_it(path in path()) {
        let axum = axum_accepts(&path);
        let ours = validate(&path);
        match (axum, stricter_rule(&path), &ours) {
            (true, None, Ok(())) | (false, _, Err(_)) | (true, Some(_), Err(_)) => {}
            (false, _, Ok(())) => {
                prop_assert!(false, "{path:?}: axum refuses it, validate accepts it");
            }
            (true, None, Err((_, message))) => {
                prop_assert!(false, "{path:?}: axum accepts it and no stricter rule applies, \
                                     but validate refuses it: {message}");
            }
            (true, Some(rule), Ok(())) => {
                prop_assert!(false, "{path:?}: axum accepts it, but validate should refuse \
                                     it ({rule})");
            }
        }
    }
}

/// The model above is only as good as its reading of axum and matchit: pin it on known paths.
#[test]
fn the_model_knows_what_axum_does() {
    for path in [
        "/",
        "//",
        "/books/{id}",
        "/{{",
        "/file-{id}",
        "/files/{*rest}",
        "/a:b/c*d",
        "/{a{b}",
        "/{a}}b}",
        "/{id}/{*id}",
        "/books?page=1",
        "/a b",
        "/{id}/{id}",
    ] {
        assert!(axum_accepts(path), "axum mounts {path:?}");
    }
    for path in [
        "",
        "books",
        "/books/:id",
        "/files/*rest",
        "/{}",
        "/{*}",
        "/{id",
        "/id}",
        "/{id}.json",
        "/{*rest}/x",
        "/{a*b}",
    ] {
        assert!(!axum_accepts(path), "axum refuses {path:?}");
    }
    let params = |count: usize| (0..count).map(|i| format!("/{{p{i}}}")).collect::<String>();
    assert!(axum_accepts(&params(25)));
    assert!(!axum_accepts(&params(26)));
    assert_eq!(param_names("/{a}/{{b}}/{*c}/{x}}y}"), ["a", "c", "x}y"]);
    assert_eq!(
        stricter_rule("/{id}/{*id}"),
        Some("two parameters with one name cannot both be extracted")
    );
    assert_eq!(
        stricter_rule("/{a{b}").map(|rule| rule.starts_with("parameter names")),
        Some(true)
    );
    assert_eq!(stricter_rule("/books/{id}"), None);
}
