//! One error type for every rejection, rendered as `{"error": code, "message": text}`.

use std::fmt;
use std::sync::Arc;

use axum::body::HttpBody;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why the guard or an extractor refused a request.
///
/// Every variant maps to a status, a stable machine-readable `code` and a human `message`;
/// [`IntoResponse`] renders it as `{"error": code, "message": message}`. 401 responses carry
/// `WWW-Authenticate: Bearer`, with `error="invalid_token"` when a token was presented
/// (RFC 6750 §3). Replace the rendering with [`JwtRoutesBuilder::error_response`].
///
/// [`JwtRoutesBuilder::error_response`]: crate::JwtRoutesBuilder::error_response
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The route needs a token and the request carries none (401 `missing_token`).
    MissingToken,
    /// The request carries credentials in a form that is refused, e.g. two `Authorization`
    /// headers or another scheme than Bearer (401 `invalid_request`).
    InvalidRequest(&'static str),
    /// The token is malformed, forged, or fails a check (401 `invalid_token`).
    InvalidToken(&'static str),
    /// The token's `exp` has passed (401 `token_expired`).
    ExpiredToken,
    /// The token's `kid` names no key this server knows (401 `unknown_key`).
    UnknownKey,
    /// The token's `iss` is not the issuer this server expects (401 `wrong_issuer`).
    WrongIssuer,
    /// The token's `aud` (or `azp`) does not name this server (401 `wrong_audience`).
    WrongAudience,
    /// The token was revoked: logged out, its login's family revoked after a refresh token was
    /// replayed, or its entity logged out everywhere (401 `token_revoked`).
    TokenRevoked,
    /// The route is declared `fresh` and the token was minted by a refresh or a renewal, not
    /// by a login (401 `fresh_token_required`): the client signs in again.
    FreshTokenRequired,
    /// The token is valid but its entity no longer exists (401 `unknown_entity`).
    EntityNotFound,
    /// The token belongs to another entity type than the route's (403 `wrong_entity`).
    WrongEntity {
        /// The table the route declares.
        expected: &'static str,
        /// The `table_name` claim of the token.
        found: String,
    },
    /// The token lacks the roles or scopes the route declares (403 `insufficient_scope`, RFC
    /// 6750 §3.1, the required ones in the challenge's `scope` parameter).
    InsufficientScope {
        /// The route's roles, of which the token needs one (none: no role needed).
        roles: &'static [&'static str],
        /// The route's scopes, all of which the token needs.
        scopes: &'static [&'static str],
    },
    /// A request authenticated by the session cookie, with an unsafe method, lacks the
    /// `X-CSRF-Token` header or sends one that is not this session's (403 `csrf_failed`).
    CsrfFailed,
    /// The entity exists but [`Entity::is_active`](crate::Entity::is_active) says no (403 `account_disabled`).
    AccountDisabled,
    /// The entity store failed while loading the caller, or the session store could not say
    /// whether a token is revoked or spend a refresh token (503 `store_unavailable`).
    StoreUnavailable,
    /// The entity named by the route is not registered with the builder, or the guard layer is
    /// not installed on this route: a server misconfiguration (500 `misconfigured`).
    Misconfigured(&'static str),
    /// A token was to be minted, or an entity loaded, for an entity type that is not registered
    /// with [`entity`](crate::JwtRoutesBuilder::entity): a server misconfiguration (500
    /// `misconfigured`). Holds the type's name.
    UnregisteredEntity(&'static str),
    /// The entity store panicked while loading the caller (500 `internal_error`); the server
    /// keeps serving.
    StorePanicked,
    /// Sign-in: the identity provider refused the authorization code (used, expired, or its
    /// PKCE verifier or redirect URI does not match) (401 `code_refused`).
    CodeRefused,
    /// Sign-in: the `state` coming back from the provider is not the one sent (401
    /// `state_mismatch`): the callback was not started by this browser.
    StateMismatch,
    /// Sign-in: the ID token's `nonce` is not the one sent (401 `nonce_mismatch`): a replayed
    /// or injected token.
    NonceMismatch,
    /// The identity provider has not verified the token's email (`email_verified`), or the
    /// token carries none (401 `email_not_verified`).
    EmailNotVerified,
    /// Sign-in: the ID token's hosted domain (Google's `hd`) is not the one required (401
    /// `wrong_hosted_domain`).
    WrongHostedDomain,
    /// Sign-in: the identity provider could not be reached, timed out, or answered something
    /// other than a token or a refusal (502 `provider_unavailable`).
    ProviderUnavailable,
}

impl AuthError {
    /// The HTTP status of this rejection.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken
            | Self::InvalidRequest(_)
            | Self::InvalidToken(_)
            | Self::ExpiredToken
            | Self::UnknownKey
            | Self::WrongIssuer
            | Self::WrongAudience
            | Self::TokenRevoked
            | Self::FreshTokenRequired
            | Self::EntityNotFound
            | Self::CodeRefused
            | Self::StateMismatch
            | Self::NonceMismatch
            | Self::EmailNotVerified
            | Self::WrongHostedDomain => StatusCode::UNAUTHORIZED,
            Self::ProviderUnavailable => StatusCode::BAD_GATEWAY,
            Self::WrongEntity { .. }
            | Self::InsufficientScope { .. }
            | Self::AccountDisabled
            | Self::CsrfFailed => StatusCode::FORBIDDEN,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Misconfigured(_) | Self::UnregisteredEntity(_) | Self::StorePanicked => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The stable code put in the body's `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidToken(_) => "invalid_token",
            Self::ExpiredToken => "token_expired",
            Self::UnknownKey => "unknown_key",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::TokenRevoked => "token_revoked",
            Self::FreshTokenRequired => "fresh_token_required",
            Self::EntityNotFound => "unknown_entity",
            Self::WrongEntity { .. } => "wrong_entity",
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::AccountDisabled => "account_disabled",
            Self::CsrfFailed => "csrf_failed",
            Self::StoreUnavailable => "store_unavailable",
            Self::Misconfigured(_) | Self::UnregisteredEntity(_) => "misconfigured",
            Self::StorePanicked => "internal_error",
            Self::CodeRefused => "code_refused",
            Self::StateMismatch => "state_mismatch",
            Self::NonceMismatch => "nonce_mismatch",
            Self::EmailNotVerified => "email_not_verified",
            Self::WrongHostedDomain => "wrong_hosted_domain",
            Self::ProviderUnavailable => "provider_unavailable",
        }
    }

    /// The `WWW-Authenticate` value this rejection calls for, if any (RFC 6750 §3).
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        let value = match self {
            // Sign-in refusals: no token was presented, so no `error` to report (RFC 6750 §3.1).
            Self::MissingToken | Self::CodeRefused | Self::StateMismatch => "Bearer",
            Self::InvalidRequest(_) => "Bearer error=\"invalid_request\"",
            Self::InvalidToken(_)
            | Self::ExpiredToken
            | Self::UnknownKey
            | Self::WrongIssuer
            | Self::WrongAudience
            | Self::TokenRevoked
            | Self::FreshTokenRequired
            | Self::EntityNotFound
            | Self::NonceMismatch
            | Self::EmailNotVerified
            | Self::WrongHostedDomain => "Bearer error=\"invalid_token\"",
            Self::WrongEntity { .. } => "Bearer error=\"insufficient_scope\"",
            Self::InsufficientScope { roles, scopes } => {
                // The macros admit only RFC 6749 §3.3 characters, which a quoted string holds.
                let scope: Vec<&str> = roles.iter().chain(*scopes).copied().collect();
                let value = format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                    scope.join(" ")
                );
                return HeaderValue::try_from(value).ok();
            }
            _ => return None,
        };
        Some(HeaderValue::from_static(value))
    }

    /// The default JSON rendering, for custom renderers that want to start from it.
    pub fn default_response(&self) -> Response {
        // Written directly, not through a JSON tree: a refusal costs an attacker's request
        // little more than a valid one. The code is a plain identifier; the message is escaped.
        let message = serde_json::to_string(&self.to_string()).unwrap_or_default();
        let body = format!(r#"{{"error":"{}","message":{message}}}"#, self.code());
        let json = HeaderValue::from_static("application/json");
        let mut response = (self.status(), [(header::CONTENT_TYPE, json)], body).into_response();
        if let Some(value) = self.www_authenticate() {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingToken => f.write_str("this route needs a bearer token"),
            Self::InvalidRequest(why) | Self::InvalidToken(why) | Self::Misconfigured(why) => {
                f.write_str(why)
            }
            Self::ExpiredToken => f.write_str("the token has expired"),
            Self::UnknownKey => f.write_str("the token's `kid` names no key this server knows"),
            Self::WrongIssuer => f.write_str("the token's issuer (`iss`) is not accepted here"),
            Self::WrongAudience => f.write_str("the token is not meant for this server (`aud`)"),
            Self::TokenRevoked => f.write_str("the token has been revoked"),
            Self::FreshTokenRequired => f.write_str(
                "this route needs a token from a login, not a refreshed one: sign in again",
            ),
            Self::EntityNotFound => f.write_str("the token's entity no longer exists"),
            Self::WrongEntity { expected, found } => write!(
                f,
                "this route is for `{expected}` tokens, not `{found}` tokens"
            ),
            Self::InsufficientScope { roles, scopes } => {
                f.write_str("this route needs ")?;
                match (*roles, *scopes) {
                    ([role], []) => write!(f, "the role `{role}`"),
                    (roles, []) => write!(f, "one of the roles `{}`", roles.join("`, `")),
                    ([], scopes) => write!(f, "the scopes `{}`", scopes.join("`, `")),
                    (roles, scopes) => write!(
                        f,
                        "one of the roles `{}` and the scopes `{}`",
                        roles.join("`, `"),
                        scopes.join("`, `")
                    ),
                }
            }
            Self::UnregisteredEntity(entity) => write!(
                f,
                "`{entity}` is not a registered entity: add .entity::<{entity}>() to JwtRoutes::builder()"
            ),
            Self::AccountDisabled => f.write_str("this account is disabled"),
            Self::CsrfFailed => f.write_str(
                "this request needs the session's CSRF token in the X-CSRF-Token header",
            ),
            Self::StoreUnavailable => f.write_str("the store is unavailable, try again"),
            Self::StorePanicked => f.write_str("the entity store failed unexpectedly"),
            Self::CodeRefused => {
                f.write_str("the identity provider refused the authorization code")
            }
            Self::StateMismatch => {
                f.write_str("the sign-in `state` is not the one this browser was sent with")
            }
            Self::NonceMismatch => f.write_str("the ID token's `nonce` is not the one sent"),
            Self::EmailNotVerified => {
                f.write_str("the identity provider has not verified this email (`email_verified`)")
            }
            Self::WrongHostedDomain => {
                f.write_str("the account is not in the required domain (`hd`)")
            }
            Self::ProviderUnavailable => {
                f.write_str("the identity provider could not be reached, try again")
            }
        }
    }
}

impl std::error::Error for AuthError {}

/// Rendered with the default JSON; behind the guard it is rendered again with the configured
/// renderer, if there is one.
impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let mut response = self.default_response();
        response.extensions_mut().insert(Unrendered(self));
        response
    }
}

/// Marks a response as a jwt-router refusal, for [`GuardedRouter`](crate::GuardedRouter), which
/// strips `Allow` from it.
#[derive(Clone, Copy)]
pub(crate) struct Refusal;

/// An [`AuthError`] a handler returned, rendered with the default JSON; the guard renders it
/// with the configured renderer.
#[derive(Clone)]
struct Unrendered(AuthError);

/// How rejections become responses: the default JSON, or the application's own renderer.
type Render = dyn Fn(&AuthError) -> Response + Send + Sync;

#[derive(Clone, Default)]
pub(crate) struct Responder(Option<Arc<Render>>);

impl Responder {
    pub(crate) fn custom(render: impl Fn(&AuthError) -> Response + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(render)))
    }

    pub(crate) fn is_custom(&self) -> bool {
        self.0.is_some()
    }

    /// `err` rendered and marked as a refusal, with its `Content-Length` set here: axum sets it
    /// on some refusals and not others, and the order of headers on the wire would tell them
    /// apart.
    pub(crate) fn respond(&self, err: &AuthError) -> Response {
        let mut response = self.render(err);
        if let Some(length) = response.body().size_hint().exact() {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        response.extensions_mut().insert(Refusal);
        response
    }

    /// A route's answer, with an [`AuthError`] its handler returned rendered by the configured
    /// renderer: the handler's own headers are kept where the rendering sets none.
    pub(crate) fn render_returned(&self, mut response: Response) -> Response {
        let Some(err) = response.extensions_mut().remove::<Unrendered>() else {
            return response;
        };
        if !self.is_custom() {
            response.extensions_mut().insert(Refusal);
            return response;
        }
        let mut rendered = self.respond(&err.0);
        let set_by_renderer: Vec<_> = rendered.headers().keys().cloned().collect();
        for (name, value) in response.headers() {
            if !set_by_renderer.contains(name) && name != header::CONTENT_LENGTH {
                // `append`: a repeated header (several `Set-Cookie`) keeps every value.
                rendered.headers_mut().append(name, value.clone());
            }
        }
        rendered
    }

    /// `err` rendered by the configured renderer, or as the default JSON.
    pub(crate) fn render(&self, err: &AuthError) -> Response {
        let Some(render) = &self.0 else {
            return err.default_response();
        };
        let mut response = render(err);
        // A 401 without a challenge breaks RFC 7235 clients; keep ours if the renderer forgot it.
        if response.status() == StatusCode::UNAUTHORIZED
            && !response.headers().contains_key(header::WWW_AUTHENTICATE)
            && let Some(value) = err.www_authenticate()
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_default_body_is_the_json_of_the_code_and_the_message() {
        let errors = [
            AuthError::MissingToken,
            AuthError::InvalidToken("a \"quoted\" \\ reason\nover two lines"),
            AuthError::WrongEntity {
                expected: "users",
                found: "tea\"chers\u{7}".to_owned(),
            },
            AuthError::InsufficientScope {
                roles: &["admin"],
                scopes: &["books:write"],
            },
        ];
        for err in errors {
            let response = err.default_response();
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            let parsed: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            let expected = serde_json::json!({ "error": err.code(), "message": err.to_string() });
            assert_eq!(parsed, expected);
            // Byte for byte what a JSON serializer writes for that object.
            assert_eq!(body, serde_json::to_vec(&expected).expect("serializes"));
        }
    }
}
