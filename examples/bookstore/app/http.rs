//! What wraps every route: the body limit, the access log, panics and bare errors as JSON, and
//! the JSON 404 of the fallback.

use std::any::Any;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use super::error::ApiError;

/// The largest request body any route reads; a larger one is a 413.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

/// Adds the app's layers around every route of `router` (and its fallback). Call it on the
/// guarded router: the log then sees the guard's answers too.
pub(crate) fn layers(router: Router) -> Router {
    router
        .layer(middleware::map_response(json_errors))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(access_log))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The fallback, behind the guard: a request with a valid token for a path that names nothing.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no route for this method and path")
}

/// One line per request: method, route template, status, latency. The template, never the raw
/// URI: its `auth` query parameter is a token.
async fn access_log(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();
    let response = next.run(req).await;
    tracing::info!(
        %method,
        route = route.as_ref().map_or("<no route>", MatchedPath::as_str),
        status = response.status().as_u16(),
        latency = ?started.elapsed(),
        "request"
    );
    response
}

/// A handler that panics answers 500 JSON; the server goes on serving.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string payload>");
    ApiError::internal(format_args!("handler panicked: {message}")).into_response()
}

/// Error responses that axum makes with an empty or plain-text body (405 for a known path with
/// another method, ...) get the contract's JSON body; JSON ones pass untouched.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this path does not take this method")
        }
        StatusCode::NOT_FOUND => ("not_found", "no route for this method and path"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the body is over the 1 MiB limit"),
        _ if status.is_client_error() => (
            "bad_request",
            status.canonical_reason().unwrap_or("bad request"),
        ),
        _ => ("internal_error", "the server failed to answer this request"),
    };
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}
