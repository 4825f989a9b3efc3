//! Route paths in axum 0.8 syntax, checked at compile time.
//!
//! [`validate`] refuses exactly what axum 0.8 refuses when a single route is mounted
//! (`Router::route` panics: its `/`-prefix and `:id`/`*rest` checks, then matchit 0.8's insert
//! rules), plus a few paths axum accepts but that are always a mistake in a route declaration:
//! parameter names that are not identifiers, a parameter named twice, a query string or
//! fragment, whitespace and control characters. Conflicts *between* routes are not a property
//! of one path; the runtime reports them at startup. The `axum_parity` property test checks
//! this against matchit itself.

use proc_macro2::Span;
use syn::LitStr;

/// The most parameters (catch-alls aside) matchit 0.8 names before it panics.
pub(crate) const MAX_PARAMS: usize = 25;

/// Checks `path`; on failure, the byte offset of the offending character and a message that
/// says what to write instead.
pub(crate) fn validate(path: &str) -> Result<(), (usize, String)> {
    if path.is_empty() {
        return Err((
            0,
            "path is empty: the root route is written \"/\"".to_owned(),
        ));
    }
    check_characters(path)?;
    if !path.starts_with('/') {
        return Err((0, format!("path must start with '/': expected \"/{path}\"")));
    }
    check_axum_07_syntax(path)?;
    check_parameters(path)
}

/// Validates the string literal and turns a failure into an error pointing into it (at the
/// character where the compiler can, else at the whole literal).
pub(crate) fn check(lit: &LitStr) -> syn::Result<()> {
    let path = lit.value();
    validate(&path).map_err(|(offset, message)| {
        let span = char_span(lit, &path, offset).unwrap_or_else(|| lit.span());
        syn::Error::new(span, message)
    })
}

/// An identifier fragment naming `path` injectively and readably, so that E0428 on a route
/// declared twice reads as the route (`/api/{id}` is `__api___oid_c`): ASCII letters and digits
/// are kept, `/` is `__`, and every other byte is `_` and a letter (`_u`nderscore, `_o`pen and
/// `_c`lose brace, `_s`tar, `_h`yphen, `_d`ot) or `_x` and two hex digits. Each escape starts
/// with `_` and its second character says how long it is, so no two paths give one fragment.
pub(crate) fn mangle(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 2);
    for byte in path.bytes() {
        match byte {
            b'/' => out.push_str("__"),
            b'_' => out.push_str("_u"),
            b'{' => out.push_str("_o"),
            b'}' => out.push_str("_c"),
            b'*' => out.push_str("_s"),
            b'-' => out.push_str("_h"),
            b'.' => out.push_str("_d"),
            _ if byte.is_ascii_alphanumeric() => out.push(char::from(byte)),
            _ => out.push_str(&format!("_x{byte:02x}")),
        }
    }
    out
}

/// The span of the character at byte `offset` of the literal's value. `None` on stable Rust
/// (`Literal::subspan` needs nightly) and for literals with escapes, where value offsets and
/// source offsets differ.
fn char_span(lit: &LitStr, value: &str, offset: usize) -> Option<Span> {
    let source = lit.token().to_string();
    let prefix = if source.starts_with('"') && !source.contains('\\') {
        1
    } else if source.starts_with('r') {
        source.find('"')? + 1
    } else {
        return None;
    };
    let len = value[offset..].chars().next().map_or(1, char::len_utf8);
    lit.token().subspan(prefix + offset..prefix + offset + len)
}

/// 1-based position of the character at byte `offset`, as a user counts.
fn position(path: &str, offset: usize) -> usize {
    path[..offset].chars().count() + 1
}

fn check_characters(path: &str) -> Result<(), (usize, String)> {
    for (offset, c) in path.char_indices() {
        let at = position(path, offset);
        if c.is_whitespace() {
            let what = match c {
                ' ' => "a space".to_owned(),
                '\t' => "a tab".to_owned(),
                '\n' | '\r' => "a line break".to_owned(),
                _ => format!("U+{:04X}", u32::from(c)),
            };
            let trimmed = path.trim();
            let fix = if !trimmed.is_empty() && !trimmed.contains(char::is_whitespace) {
                format!("expected \"{trimmed}\"")
            } else {
                "request paths never contain whitespace; to match an encoded space write %20"
                    .to_owned()
            };
            return Err((
                offset,
                format!("path must not contain whitespace: found {what} at character {at}; {fix}"),
            ));
        }
        if c.is_control() {
            let stripped: String = path.chars().filter(|c| !c.is_control()).collect();
            let fix = if validate(&stripped).is_ok() {
                format!("expected \"{stripped}\"")
            } else {
                let mut utf8 = [0; 4];
                let encoded: String = c
                    .encode_utf8(&mut utf8)
                    .bytes()
                    .map(|byte| format!("%{byte:02X}"))
                    .collect();
                format!("to match it, write it percent-encoded ({encoded}), as requests carry it")
            };
            return Err((
                offset,
                format!(
                    "path must not contain control characters: found U+{:04X} at character \
                     {at}; {fix}",
                    u32::from(c)
                ),
            ));
        }
        let before = if offset == 0 { "/" } else { &path[..offset] };
        match c {
            '?' => {
                return Err((
                    offset,
                    format!(
                        "path must not contain a query string: found '?' at character {at}; \
                         expected \"{before}\", and read the query with axum's `Query` extractor"
                    ),
                ));
            }
            '#' => {
                return Err((
                    offset,
                    format!(
                        "path must not contain a fragment: found '#' at character {at}; \
                         expected \"{before}\" (clients never send the fragment)"
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// axum 0.8 refuses segments starting with `:` or `*` (0.7's parameter syntax).
fn check_axum_07_syntax(path: &str) -> Result<(), (usize, String)> {
    let mut offset = 0;
    let mut first = None;
    for segment in path.split('/') {
        if first.is_none() && (segment.starts_with(':') || segment.starts_with('*')) {
            first = Some((offset, segment));
        }
        offset += segment.len() + 1;
    }
    let Some((offset, segment)) = first else {
        return Ok(());
    };
    let at = position(path, offset);
    let (sigil, name) = segment.split_at(1);
    let (what, written, default) = match sigil {
        ":" => ("a path parameter", "", "id"),
        _ => ("a catch-all parameter", "*", "rest"),
    };
    if !name.is_empty() && !is_identifier(name) {
        return Err((
            offset,
            format!(
                "segment \"{segment}\" at character {at} starts with '{sigil}', which axum 0.8 \
                 refuses (it was axum 0.7's syntax for {what}): {what} is now written \
                 {{{written}name}}"
            ),
        ));
    }
    let name = if name.is_empty() { default } else { name };
    // Every 0.7-style segment rewritten, suggested only if that makes the path valid.
    let fixed: Option<Vec<String>> = path
        .split('/')
        .map(|segment| match segment.split_at_checked(1) {
            Some((":", "")) => Some("{id}".to_owned()),
            Some(("*", "")) => Some("{*rest}".to_owned()),
            Some((":", name)) => is_identifier(name).then(|| format!("{{{name}}}")),
            Some(("*", name)) => is_identifier(name).then(|| format!("{{*{name}}}")),
            _ => Some(segment.to_owned()),
        })
        .collect();
    let fixed = fixed
        .map(|segments| segments.join("/"))
        .filter(|fixed| validate(fixed).is_ok())
        .map(|fixed| format!(": expected \"{fixed}\""))
        .unwrap_or_default();
    Err((
        offset,
        format!(
            "axum 0.8 writes {what} as {{{written}{name}}}, not {segment} (character {at}){fixed}"
        ),
    ))
}

/// One character of the path after matchit's unescaping (`{{` and `}}` are literal braces).
#[derive(Clone, Copy)]
struct Unit {
    byte: u8,
    escaped: bool,
    /// Byte offset in the path as written.
    at: usize,
}

fn unescape(path: &str) -> Vec<Unit> {
    let bytes = path.as_bytes();
    let mut units = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let escaped = matches!(byte, b'{' | b'}') && bytes.get(i + 1) == Some(&byte);
        units.push(Unit {
            byte,
            escaped,
            at: i,
        });
        i += if escaped { 2 } else { 1 };
    }
    units
}

/// matchit 0.8's parameter rules (its `find_wildcard`, `normalize_params` and catch-all
/// check), followed by our own: identifier names, each used once. Scans parameter by
/// parameter; each rule is a function of one parameter.
fn check_parameters(path: &str) -> Result<(), (usize, String)> {
    let units = unescape(path);
    let mut seen: Vec<Param> = Vec::new();
    let mut pos = 0;
    while let Some(start) = next_open(path, &units, pos)? {
        let end = close_of(path, &units, start)?;
        let param = Param::new(&units, start, end);
        check_catch_all_is_last(path, &units, &param)?;
        check_count(path, &param, &seen)?;
        check_name(path, &param)?;
        check_unique(path, &param, &seen)?;
        seen.push(param);
        pos = end + 1;
    }
    Ok(())
}

/// One `{name}` or `{*name}` parameter.
struct Param {
    /// Index in the units of its `}`.
    end: usize,
    /// Byte offsets of its `{` and `}` in the path as written.
    start_at: usize,
    end_at: usize,
    catch_all: bool,
    /// Unescaped, without the `*`.
    name: String,
}

impl Param {
    fn new(units: &[Unit], start: usize, end: usize) -> Self {
        let bytes: Vec<u8> = units[start + 1..end].iter().map(|unit| unit.byte).collect();
        let name = String::from_utf8_lossy(&bytes).into_owned();
        let (catch_all, name) = match name.strip_prefix('*') {
            Some(name) => (true, name.to_owned()),
            None => (false, name),
        };
        Self {
            end,
            start_at: units[start].at,
            end_at: units[end].at,
            catch_all,
            name,
        }
    }

    /// As written, braces included.
    fn raw<'a>(&self, path: &'a str) -> &'a str {
        &path[self.start_at..self.end_at + 1]
    }
}

/// The unit index of the next unescaped `{` from `pos`, refusing a lone `}` before it.
fn next_open(path: &str, units: &[Unit], pos: usize) -> Result<Option<usize>, (usize, String)> {
    for (i, unit) in units.iter().enumerate().skip(pos) {
        match unit.byte {
            _ if unit.escaped => {}
            b'}' => {
                let at = position(path, unit.at);
                return Err((
                    unit.at,
                    format!(
                        "unmatched '}}' at character {at}: a parameter is written {{name}}, a \
                         literal '}}' as \"}}}}\""
                    ),
                ));
            }
            b'{' => return Ok(Some(i)),
            _ => {}
        }
    }
    Ok(None)
}

/// The unit index of the `}` that closes the `{` at `start`, which must end its segment.
fn close_of(path: &str, units: &[Unit], start: usize) -> Result<usize, (usize, String)> {
    let is = |i: usize, byte: u8| units.get(i).is_some_and(|unit| unit.byte == byte);
    let start_at = units[start].at;
    let at = position(path, start_at);
    if is(start + 1, b'}') {
        return Err((
            start_at,
            format!(
                "empty parameter name at character {at}: write a name like {{id}} (a literal \
                 \"{{}}\" is written \"{{{{}}}}\")"
            ),
        ));
    }
    for (i, unit) in units.iter().enumerate().skip(start + 2) {
        match unit.byte {
            b'}' if unit.escaped => {}
            b'}' if is(i - 1, b'*') => {
                let fixed = replace(path, start_at..unit.at + 1, "{*rest}");
                return Err((
                    start_at,
                    format!(
                        "catch-all parameter at character {at} has no name: expected \"{fixed}\""
                    ),
                ));
            }
            b'}' => return ends_segment(path, units, start_at, i).map(|()| i),
            b'/' => {
                let fixed = replace(path, unit.at..unit.at, "}");
                return Err((
                    start_at,
                    format!(
                        "'{{' at character {at} is not closed before the next '/': expected \
                         \"{fixed}\""
                    ),
                ));
            }
            b'*' => {
                return Err((
                    unit.at,
                    format!(
                        "'*' at character {} is not allowed inside a parameter name: a \
                         catch-all parameter is written {{*rest}}, with '*' first",
                        position(path, unit.at)
                    ),
                ));
            }
            _ => {}
        }
    }
    let escaped = units[start..]
        .iter()
        .find(|unit| unit.escaped && unit.byte == b'}');
    let message = match escaped {
        Some(unit) => format!(
            "'{{' at character {at} is never closed: \"}}}}\" at character {} is an escaped, \
             literal '}}'",
            position(path, unit.at)
        ),
        None => format!("'{{' at character {at} is never closed: expected \"{path}}}\""),
    };
    Err((start_at, message))
}

/// Nothing but `/` may follow the `}` at unit `close` of the parameter at `start_at`.
fn ends_segment(
    path: &str,
    units: &[Unit],
    start_at: usize,
    close: usize,
) -> Result<(), (usize, String)> {
    let Some(next) = units.get(close + 1).filter(|next| next.byte != b'/') else {
        return Ok(());
    };
    let rest = &path[next.at..];
    let rest = &rest[..rest.find('/').unwrap_or(rest.len())];
    let param = &path[start_at..units[close].at + 1];
    Err((
        next.at,
        format!(
            "a parameter must end its segment: \"{rest}\" follows {param} at character {}; axum \
             0.8 allows text before a parameter (\"/file-{{id}}\") but not after it",
            position(path, next.at)
        ),
    ))
}

fn check_catch_all_is_last(
    path: &str,
    units: &[Unit],
    param: &Param,
) -> Result<(), (usize, String)> {
    if !param.catch_all || param.end + 1 == units.len() {
        return Ok(());
    }
    let fixed = &path[..param.end_at + 1];
    Err((
        param.start_at,
        format!(
            "catch-all parameter {} at character {} must end the path, since it captures \
             everything after it: expected \"{fixed}\"",
            param.raw(path),
            position(path, param.start_at)
        ),
    ))
}

/// matchit panics past [`MAX_PARAMS`] named parameters; catch-alls don't count.
fn check_count(path: &str, param: &Param, seen: &[Param]) -> Result<(), (usize, String)> {
    if param.catch_all {
        return Ok(());
    }
    let number = 1 + seen.iter().filter(|seen| !seen.catch_all).count();
    if number <= MAX_PARAMS {
        return Ok(());
    }
    Err((
        param.start_at,
        format!(
            "too many path parameters: {} at character {} is number {number}, and axum 0.8 \
             allows at most {MAX_PARAMS}",
            param.raw(path),
            position(path, param.start_at)
        ),
    ))
}

fn check_name(path: &str, param: &Param) -> Result<(), (usize, String)> {
    if is_identifier(&param.name) {
        return Ok(());
    }
    let star = if param.catch_all { "*" } else { "" };
    let fixed = replace(
        path,
        param.start_at..param.end_at + 1,
        &format!("{{{star}{}}}", to_identifier(&param.name)),
    );
    Err((
        param.start_at,
        format!(
            "parameter name \"{}\" at character {} is not an identifier: expected \"{fixed}\" \
             (names are letters, digits and '_', like the fields they are extracted into)",
            param.name,
            position(path, param.start_at)
        ),
    ))
}

fn check_unique(path: &str, param: &Param, seen: &[Param]) -> Result<(), (usize, String)> {
    let Some(first) = seen.iter().find(|seen| seen.name == param.name) else {
        return Ok(());
    };
    Err((
        param.start_at,
        format!(
            "parameter {} at character {} repeats the name of the parameter at character {}: \
             give each parameter its own name",
            param.raw(path),
            position(path, param.start_at),
            position(path, first.start_at)
        ),
    ))
}

fn replace(path: &str, range: std::ops::Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &path[..range.start], &path[range.end..])
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A plausible identifier for a name that is not one (`user-id` -> `user_id`, `:id` -> `id`).
fn to_identifier(name: &str) -> String {
    let name: String = name
        .trim_start_matches([':', '*'])
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let name = name.trim_matches('_');
    match name.chars().next() {
        None => "id".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("p{name}"),
        Some(_) => name.to_owned(),
    }
}

#[cfg(test)]
mod axum_parity;

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn ok(path: &str) {
        if let Err((offset, message)) = validate(path) {
            panic!("{path:?} refused at byte {offset}: {message}");
        }
    }

    /// Asserts `path` is refused at byte `offset` with a message containing `needle`.
    #[track_caller]
    fn refused(path: &str, offset: usize, needle: &str) {
        match validate(path) {
            Ok(()) => panic!("{path:?} accepted"),
            Err((at, message)) => {
                assert_eq!(at, offset, "{path:?}: {message}");
                assert!(
                    message.contains(needle),
                    "{path:?}: {message:?} lacks {needle:?}"
                );
            }
        }
    }

    #[test]
    fn accepts_what_axum_08_mounts() {
        for path in [
            "/",
            "/books",
            "/books/",
            "/books/{id}",
            "/books/{id}/",
            "/books/{book_id}/pages/{page}",
            "/files/{*rest}",
            "/{*path}",
            "/v{version}/x",
            "/file-{id}",
            "/src2{*filepath}",
            "/literal/{{braces}}",
            "/{{",
            "/}}",
            "/{{{id}",
            "/a:b/c*d",
            "//double",
            "/caf\u{e9}/\u{1f600}",
            "/my%20books",
            "/_/{_}",
            "/{A1}",
            "/{id}/{*rest}",
        ] {
            ok(path);
        }
    }

    #[test]
    fn accepts_25_parameters_not_26() {
        let names: Vec<String> = (0..26).map(|i| format!("/{{p{i}}}")).collect();
        ok(&names[..25].concat());
        let path = names.concat();
        let last = path.rfind('{').expect("has a parameter");
        refused(&path, last, "at most 25");
        ok(&format!("{}/{{*rest}}", names[..25].concat()));
    }

    #[test]
    fn refuses_empty_and_relative_paths() {
        refused("", 0, "the root route is written \"/\"");
        refused("books", 0, "path must start with '/': expected \"/books\"");
        refused("{id}", 0, "expected \"/{id}\"");
    }

    #[test]
    fn refuses_axum_07_syntax() {
        refused("/books/:id", 7, "expected \"/books/{id}\"");
        refused("/:a/:b", 1, "expected \"/{a}/{b}\"");
        refused("/files/*rest", 7, "expected \"/files/{*rest}\"");
        refused("/files/*", 7, "expected \"/files/{*rest}\"");
        refused("/:", 1, "as {id}, not : (character 2): expected \"/{id}\"");
        refused("/files/*rest/x", 7, "as {*rest}, not *rest (character 8)");
        refused("/:{id}", 1, "starts with ':', which axum 0.8 refuses");
        refused("/*{{x", 1, "a catch-all parameter is now written {*name}");
    }

    #[test]
    fn refuses_bad_braces() {
        refused("/books/{id", 7, "never closed: expected \"/books/{id}\"");
        refused("/books/{id/pages", 7, "expected \"/books/{id}/pages\"");
        refused("/books/id}", 9, "unmatched '}'");
        refused("/{}", 1, "empty parameter name");
        refused("/{}}}", 1, "empty parameter name");
        refused("/files/{*}", 7, "expected \"/files/{*rest}\"");
        refused("/{a*b}", 3, "'*' at character 4");
        refused("/{id}.json", 5, "\".json\" follows {id}");
        refused("/{a}{b}", 4, "\"{b}\" follows {a}");
        refused(
            "/{a}}",
            1,
            "\"}}\" at character 4 is an escaped, literal '}'",
        );
    }

    #[test]
    fn refuses_catch_all_that_is_not_last() {
        refused(
            "/{*rest}/x",
            1,
            "must end the path, since it captures everything after it: expected \"/{*rest}\"",
        );
        refused("/{*a}/{b}", 1, "must end the path");
    }

    #[test]
    fn refuses_names_that_are_not_identifiers() {
        refused("/users/{user-id}", 7, "expected \"/users/{user_id}\"");
        refused("/{:id}", 1, "expected \"/{id}\"");
        refused("/{1}", 1, "expected \"/{p1}\"");
        refused("/{/}", 1, "not an identifier");
        refused("/{a{b}", 1, "not an identifier");
        refused("/{a}}b}", 1, "not an identifier");
        refused("/{*my-rest}", 1, "expected \"/{*my_rest}\"");
    }

    #[test]
    fn refuses_repeated_names() {
        refused(
            "/a/{id}/{id}",
            8,
            "repeats the name of the parameter at character 4",
        );
        refused("/{id}/{*id}", 6, "repeats");
    }

    #[test]
    fn refuses_query_fragment_whitespace_and_controls() {
        refused(
            "/books?page=1",
            6,
            "query string: found '?' at character 7; expected \"/books\"",
        );
        refused(
            "/books#top",
            6,
            "fragment: found '#' at character 7; expected \"/books\"",
        );
        refused(
            "/books ",
            6,
            "found a space at character 7; expected \"/books\"",
        );
        refused(" /books", 0, "expected \"/books\"");
        refused("/my books", 3, "%20");
        refused("/a\tb", 2, "a tab");
        refused("/a\u{7}", 2, "U+0007 at character 3; expected \"/a\"");
        refused("/\u{7}a\u{7} b", 1, "write it percent-encoded (%07)");
        refused("/\u{9b}{", 1, "(%C2%9B)");
        refused("/{id }", 4, "a space");
    }

    #[test]
    fn offsets_are_bytes_and_positions_are_characters() {
        refused("/\u{e9}/:id", 4, "(character 4)");
    }

    #[test]
    fn mangling_keeps_alphanumerics_and_spells_out_the_rest() {
        assert_eq!(mangle("/api/v1/users/me"), "__api__v1__users__me");
        assert_eq!(mangle("/books/{id}"), "__books___oid_c");
        assert_eq!(mangle("/f/{*rest}"), "__f___o_srest_c");
        assert_eq!(mangle("/a_b-c.d"), "__a_ub_hc_dd");
        assert_eq!(mangle("/\u{e9}~"), "___xc3_xa9_x7e");
    }

    #[test]
    fn mangling_is_injective() {
        let paths = [
            "/a_b",
            "/a/b",
            "/a_2fb",
            "/a__b",
            "/a-b",
            "/ab",
            "/a_5fb",
            "/A_b",
            "/a{b}",
            "/a_7bb_7d",
            "/a//b",
            "/a/_b",
            "/a_ub",
            "/a/ub",
            "/a_x5fb",
            "/a/{b}",
            "/a/_ob_c",
            "/a%2Fb",
            "/a~b",
            "/a_x7eb",
        ];
        let mut seen = std::collections::HashMap::new();
        for path in paths {
            if let Some(other) = seen.insert(mangle(path), path) {
                panic!("{path:?} and {other:?} mangle alike");
            }
        }
    }
}
