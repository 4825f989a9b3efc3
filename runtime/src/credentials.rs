//! Where a request carries its token: `Authorization: Bearer`, or the `auth` query parameter
//! when enabled. Sizes are capped before anything is scanned.

use std::borrow::Cow;

use axum::http::{HeaderMap, header};

use crate::error::AuthError;
use crate::token::TOO_LARGE;

/// The query parameter that carries a token when [`query_token`](crate::JwtRoutesBuilder::query_token) is on.
pub(crate) const QUERY_PARAM: &str = "auth";

/// The request's token, or [`AuthError::MissingToken`]; a token sent both ways is refused.
pub(crate) fn request_token<'r>(
    headers: &'r HeaderMap,
    query: Option<&'r str>,
    query_enabled: bool,
    max_token_bytes: usize,
) -> Result<Cow<'r, str>, AuthError> {
    let from_header = bearer(headers, max_token_bytes)?;
    let from_query = match query {
        Some(query) if query_enabled => query_param(query, max_token_bytes)?,
        _ => None,
    };
    match (from_header, from_query) {
        (Some(_), Some(_)) => Err(AuthError::InvalidRequest(
            "send the token in the Authorization header or the `auth` query parameter, not both",
        )),
        (Some(token), None) => Ok(Cow::Borrowed(token)),
        (None, Some(token)) => Ok(token),
        (None, None) => Err(AuthError::MissingToken),
    }
}

/// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 7235 §2.1).
/// A value longer than any accepted token is refused before it is scanned.
fn bearer(headers: &HeaderMap, max_token_bytes: usize) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidRequest(
            "send one Authorization header, not several",
        ));
    }
    if value.len() > max_token_bytes.saturating_add(MAX_SCHEME_BYTES) {
        return Err(TOO_LARGE);
    }
    let malformed = AuthError::InvalidRequest("expected `Authorization: Bearer <token>`");
    let value = value.to_str().map_err(|_| malformed.clone())?;
    let (scheme, token) = value.split_once(' ').ok_or(malformed.clone())?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::InvalidRequest(
            "only the Bearer authorization scheme is accepted",
        ));
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(malformed);
    }
    Ok(Some(token))
}

/// Whether a raw `key=value` pair is the `auth` parameter; an encoded key (`%61uth`) counts too,
/// so a second, disguised `auth` is refused as a duplicate rather than left for the app to read.
fn is_auth_key(pair: &str) -> bool {
    let key = pair.split_once('=').map_or(pair, |(key, _)| key);
    if key.contains(['%', '+']) {
        form_urlencoded::parse(key.as_bytes()).any(|(key, _)| key == QUERY_PARAM)
    } else {
        key == QUERY_PARAM
    }
}

/// Room for `Bearer` and the spaces after it in a header that carries a token of the max size.
const MAX_SCHEME_BYTES: usize = 64;

/// The `auth` query parameter. Only that pair is percent-decoded, and only when its raw text
/// could hold a token of the allowed size (percent-encoding triples a byte at most).
fn query_param(query: &str, max_token_bytes: usize) -> Result<Option<Cow<'_, str>>, AuthError> {
    let mut found = query.split('&').filter(|pair| is_auth_key(pair));
    let Some(pair) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(AuthError::InvalidRequest(
            "send one `auth` query parameter, not several",
        ));
    }
    if pair.len()
        > max_token_bytes
            .saturating_mul(3)
            .saturating_add(QUERY_PARAM.len() + 1)
    {
        return Err(TOO_LARGE);
    }
    Ok(form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(_, value)| value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::AUTHORIZATION, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict() {
        assert_eq!(bearer(&headers(&["Bearer abc"]), 10), Ok(Some("abc")));
        assert_eq!(bearer(&headers(&["bEARER abc"]), 10), Ok(Some("abc")));
        assert_eq!(bearer(&headers(&[]), 10), Ok(None));
        for bad in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "abc",
            "Bearerabc",
        ] {
            assert!(bearer(&headers(&[bad]), 10).is_err(), "{bad} accepted");
        }
        assert!(bearer(&headers(&["Bearer a", "Bearer a"]), 10).is_err());
    }

    #[test]
    fn oversized_header_is_refused_before_it_is_scanned() {
        let huge: &'static str =
            "Bearer aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(bearer(&headers(&[huge]), 0), Err(TOO_LARGE));
        assert!(bearer(&headers(&[huge]), 100).is_ok());
    }

    #[test]
    fn query_param_decodes_only_its_own_pair_and_refuses_duplicates() {
        let token = |query: &str, max| query_param(query, max).map(|t| t.map(Cow::into_owned));
        assert_eq!(token("x=1&auth=t.o.k", 10), Ok(Some("t.o.k".to_owned())));
        assert_eq!(token("auth=%41%42", 10), Ok(Some("AB".to_owned())));
        assert!(token("auth=a&auth=b", 10).is_err());
        assert_eq!(token("authx=a&x=auth", 10), Ok(None));
        assert!(token("auth=a&%61uth=b", 10).is_err());
        assert_eq!(token("%61uth=a", 10), Ok(Some("a".to_owned())));
        assert_eq!(
            token(&format!("auth={}", "%41".repeat(10)), 10),
            Ok(Some("A".repeat(10)))
        );
        assert_eq!(
            token(&format!("auth={}", "a".repeat(31)), 10),
            Err(TOO_LARGE)
        );
    }
}
