//! What wraps every route: the body limit, the access log, panics and bare errors as JSON, and
//! the JSON 404 of the fallback.

use std::any::Any;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use jwt_router::GuardedRouter;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

use super::error::ApiError;

/// The largest request body any route reads; a larger one is a 413.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

/// Adds the app's layers around every route of `router` (and its fallback). Call it on the
/// guarded router: the log then sees the guard's answers too.
pub(crate) fn layers<S: Clone + Send + Sync + 'static>(
    router: GuardedRouter<S>,
) -> GuardedRouter<S> {
    router
        // A `Content-Length` over the limit is a 413 before the body is read (so before hyper
        // sends `100 Continue`); a longer chunked body fails when read. It limits every body,
        // so axum's own looser default (2 MB, extractors only) goes.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(DefaultBodyLimit::disable())
        // Outside the limit: its bare 413 gets the JSON body.
        .layer(middleware::map_response(json_errors))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(access_log))
}

/// The fallback, behind the guard: a request with a valid token for a path that names nothing.
pub(crate) async fn not_found() -> ApiError {
    ApiError::no_route()
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
/// another method, ...) get the contract's JSON body and keep their other headers (`Allow`);
/// JSON ones pass untouched.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "method_not_allowed",
            "this path does not take this method",
        ),
        StatusCode::NOT_FOUND => ApiError::no_route(),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
        _ if status.is_client_error() => ApiError::new(
            status,
            "bad_request",
            status.canonical_reason().unwrap_or("bad request"),
        ),
        _ => ApiError::internal(format_args!("a bare {status} answer")),
    };
    let mut json = error.into_response();
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().append(name, value.clone());
        }
    }
    json
}
