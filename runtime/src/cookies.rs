//! Browser sessions (feature `cookies`): the access token in an HttpOnly cookie, and a
//! double-submit CSRF token bound to it.
//!
//! Scripts can't read the access cookie, so an XSS can't steal the token; the browser sends it
//! with every request to the site, so a request it makes for another site (CSRF) would carry
//! it too. SameSite=Strict stops that in current browsers; the CSRF token stops it in the rest:
//! an unsafe request (POST, PUT, PATCH, DELETE) authenticated by the cookie must repeat, in the
//! `X-CSRF-Token` header, the value of the `csrf_token` cookie, which only the site's own
//! scripts can read. The value is also a claim of the access token, so a CSRF token of another
//! session (planted as a cookie by a sibling subdomain, say) does not pass.

use std::fmt;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponseParts, ResponseParts};
use cookie::{Cookie, SameSite};

use crate::error::AuthError;
use crate::token::{Claims, TOO_LARGE, same_secret};

/// The header an unsafe request authenticated by the cookie repeats the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Browser sessions' cookies: their names and whether they are `Secure`. Turn the cookie token
/// source on with [`JwtRoutesBuilder::cookies`](crate::JwtRoutesBuilder::cookies); mint a
/// session with [`Tokens::cookie_session_for`](crate::Tokens::cookie_session_for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookies {
    access: String,
    csrf: String,
    secure: bool,
}

impl Cookies {
    /// `access_token` (HttpOnly) and `csrf_token`, both `SameSite=Strict; Path=/; Secure`.
    pub fn new() -> Self {
        Self {
            access: "access_token".to_owned(),
            csrf: "csrf_token".to_owned(),
            secure: true,
        }
    }

    /// Whether the cookies are `Secure` (sent over HTTPS only). Default: yes; turn it off for
    /// a local app served over plain http.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Other names for the access token and CSRF token cookies.
    pub fn names(mut self, access: impl Into<String>, csrf: impl Into<String>) -> Self {
        self.access = access.into();
        self.csrf = csrf.into();
        self
    }

    /// The access token cookie's value, if the request carries one.
    pub(crate) fn access_token<'r>(
        &self,
        headers: &'r HeaderMap,
        max_token_bytes: usize,
    ) -> Result<Option<&'r str>, AuthError> {
        let token = value(headers, &self.access)?;
        if token.is_some_and(|token| token.len() > max_token_bytes) {
            return Err(TOO_LARGE);
        }
        Ok(token)
    }

    /// A request authenticated by the cookie: safe methods pass; unsafe ones need the CSRF
    /// header, equal to the CSRF cookie and to the token's own CSRF claim.
    pub(crate) fn check_csrf(
        &self,
        method: &Method,
        headers: &HeaderMap,
        claims: &Claims,
    ) -> Result<(), AuthError> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let mut sent = headers.get_all(HeaderName::from_static(CSRF_HEADER)).iter();
        let (Some(sent), None) = (sent.next(), sent.next()) else {
            return Err(AuthError::CsrfFailed);
        };
        let sent = sent.to_str().map_err(|_| AuthError::CsrfFailed)?;
        let cookie = value(headers, &self.csrf).map_err(|_| AuthError::CsrfFailed)?;
        let bound = claims.csrf.as_deref();
        match (cookie, bound) {
            (Some(cookie), Some(bound))
                if same_secret(sent, cookie) && same_secret(sent, bound) =>
            {
                Ok(())
            }
            _ => Err(AuthError::CsrfFailed),
        }
    }

    /// The two `Set-Cookie` values of a session: the token (HttpOnly) and the CSRF token
    /// (readable by the site's scripts), both living `max_age` seconds.
    pub(crate) fn session(
        &self,
        token: &str,
        csrf: String,
        max_age: u64,
    ) -> Result<CookieSession, AuthError> {
        let cookies = [
            self.set_cookie(&self.access, token, true, max_age)?,
            self.set_cookie(&self.csrf, &csrf, false, max_age)?,
        ];
        Ok(CookieSession {
            cookies,
            csrf_token: csrf,
        })
    }

    /// The `Set-Cookie` values that remove both cookies.
    pub(crate) fn clear(&self) -> Result<ClearCookies, AuthError> {
        Ok(ClearCookies([
            self.set_cookie(&self.access, "", true, 0)?,
            self.set_cookie(&self.csrf, "", false, 0)?,
        ]))
    }

    fn set_cookie(
        &self,
        name: &str,
        value: &str,
        http_only: bool,
        max_age: u64,
    ) -> Result<HeaderValue, AuthError> {
        let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
        let cookie = Cookie::build((name, value))
            .http_only(http_only)
            .secure(self.secure)
            .same_site(SameSite::Strict)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .build();
        HeaderValue::try_from(cookie.to_string())
            .map_err(|_| AuthError::Misconfigured("a cookie name is not a valid header value"))
    }
}

impl Default for Cookies {
    fn default() -> Self {
        Self::new()
    }
}

/// The value of the cookie `name`; two cookies of that name (one planted by a sibling
/// subdomain, say) are refused rather than one picked.
fn value<'r>(headers: &'r HeaderMap, name: &str) -> Result<Option<&'r str>, AuthError> {
    let mut found = None;
    let pairs = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'));
    for pair in pairs {
        let Some((key, value)) = pair.trim().split_once('=') else {
            continue;
        };
        if key.trim() != name {
            continue;
        }
        if found.is_some() {
            return Err(AuthError::InvalidRequest(
                "send one token cookie, not several",
            ));
        }
        found = Some(value.trim().trim_matches('"'));
    }
    Ok(found.filter(|value| !value.is_empty()))
}

/// A browser session's two cookies, and the CSRF token its scripts send back in the
/// `X-CSRF-Token` header. Part of a response: returning it sets both cookies.
///
/// ```
/// # extern crate jwt_router_runtime as jwt_router;
/// use axum::Json;
/// use jwt_router::{AuthError, CookieSession, Tokens};
/// # struct User { id: i64 }
/// # impl jwt_router::Entity for User { const TABLE_NAME: &'static str = "users";
/// #   type Id = i64; type Store = (); fn id(&self) -> i64 { self.id }
/// #   async fn load(_: &(), _: &i64) -> Result<Option<Self>, jwt_router::StoreError> { Ok(None) } }
///
/// async fn login(tokens: Tokens) -> Result<(CookieSession, Json<String>), AuthError> {
///     let user = User { id: 1 }; // after checking the password
///     let session = tokens.cookie_session_for(&user)?;
///     let csrf = session.csrf_token().to_owned();
///     Ok((session, Json(csrf)))
/// }
/// ```
pub struct CookieSession {
    cookies: [HeaderValue; 2],
    csrf_token: String,
}

impl CookieSession {
    /// The CSRF token, which the site's scripts send in the `X-CSRF-Token` header of unsafe
    /// requests (also readable from the `csrf_token` cookie).
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl fmt::Debug for CookieSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieSession").finish_non_exhaustive()
    }
}

impl IntoResponseParts for CookieSession {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for cookie in self.cookies {
            res.headers_mut().append(header::SET_COOKIE, cookie);
        }
        Ok(res)
    }
}

/// `Set-Cookie` headers that remove a browser session's cookies (on logout); see
/// [`Tokens::clear_cookies`](crate::Tokens::clear_cookies).
#[derive(Debug)]
pub struct ClearCookies([HeaderValue; 2]);

impl IntoResponseParts for ClearCookies {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for cookie in self.0 {
            res.headers_mut().append(header::SET_COOKIE, cookie);
        }
        Ok(res)
    }
}
