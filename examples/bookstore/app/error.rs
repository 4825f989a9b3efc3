//! The app's one error type: every failure is `{"error": code, "message": text}` with its status.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jwt_router::AuthError;
use sqlx::error::DatabaseError;
use sqlx::postgres::PgDatabaseError;

/// What a handler answers when it can't do what was asked.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    /// `WWW-Authenticate` for a 401 (RFC 7235 §3.1 requires one), `Retry-After` for a 429.
    header: Option<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            header: None,
        }
    }

    /// 400: the request's body, fields or path are not what the route takes.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `invalid_field`, naming the field.
    pub(crate) fn invalid_field(field: &str, problem: &str) -> Self {
        Self::bad_request("invalid_field", format!("`{field}` {problem}"))
    }

    /// 401 for a login that doesn't match an account; says nothing about which part was wrong.
    pub(crate) fn wrong_credentials() -> Self {
        Self {
            header: Some((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong email or password",
            )
        }
    }

    /// 429 for a throttled login, with `Retry-After` in whole seconds (rounded up).
    pub(crate) fn too_many_requests(retry_after: Duration) -> Self {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self {
            header: Some((header::RETRY_AFTER, HeaderValue::from(seconds.max(1)))),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "too many failed logins for this account, try again later",
            )
        }
    }

    pub(crate) fn forbidden(code: &'static str, message: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub(crate) fn not_found(message: &'static str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A path that names no route (the fallback, and axum's bare 404s).
    pub(crate) fn no_route() -> Self {
        Self::not_found("no route for this method and path")
    }

    /// A body over [`BODY_LIMIT`](super::http::BODY_LIMIT).
    pub(crate) fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the body is over the 1 MiB limit",
        )
    }

    /// 503 on a connection beyond the cap, which is served `/health` only.
    pub(crate) fn over_capacity() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "over_capacity",
            "the server is at its connection limit, try again later",
        )
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500 with nothing of `cause` in the body; `cause` goes to the log.
    pub(crate) fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to answer this request",
        )
    }

    /// A database error that no constraint explains: 503 when it is worth retrying, else 500.
    pub(crate) fn database(err: sqlx::Error) -> Self {
        let busy = match &err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => worth_a_retry(db.as_ref()),
            _ => false,
        };
        if !busy {
            return Self::internal(err);
        }
        tracing::warn!(error = %err, "database unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database is busy, try again",
        )
    }

    /// `conflict` if `err` broke a unique constraint (a race or a duplicate), else [`Self::database`].
    pub(crate) fn unique_or_database(err: sqlx::Error, conflict: ApiError) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => conflict,
            _ => Self::database(err),
        }
    }
}

/// PostgreSQL: SQLSTATE classes 08 (connection lost; not 08P01, a protocol violation), 40
/// (serialization failure, deadlock) and 53 (out of connections or memory), a server shutting
/// down or starting (57P01-57P03), a statement timeout (57014), a lock not available (55P03).
/// SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes, when the busy timeout
/// ran out.
fn worth_a_retry(err: &dyn DatabaseError) -> bool {
    if let Some(err) = err.try_downcast_ref::<PgDatabaseError>() {
        let code = err.code();
        return code != "08P01"
            && [
                "08", "40", "53", "57P01", "57P02", "57P03", "57014", "55P03",
            ]
            .iter()
            .any(|prefix| code.starts_with(prefix));
    }
    err.code().is_some_and(|code| {
        code.parse::<i32>()
            .is_ok_and(|code| code & 0xff == 5 || code & 0xff == 6)
    })
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::database(err)
    }
}

/// A token that can't be minted (never for a built `JwtRoutes`), rendered like the guard's errors.
impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        if err.status().is_server_error() {
            tracing::error!(code = err.code(), error = %err, "jwt-router failed");
        }
        Self {
            status: err.status(),
            code: err.code(),
            message: err.to_string().into(),
            header: err
                .www_authenticate()
                .map(|challenge| (header::WWW_AUTHENTICATE, challenge)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.code, "message": self.message }));
        let mut response = (self.status, body).into_response();
        if let Some((name, value)) = self.header {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
