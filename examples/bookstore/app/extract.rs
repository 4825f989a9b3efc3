//! axum's `Json` and `Path` with the contract's rejections: 400 (413 for a body over the limit),
//! as JSON. axum's own answer 415/422 in plain text.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body of type `T`.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(body_error(&rejection)),
        }
    }
}

fn body_error(rejection: &JsonRejection) -> ApiError {
    match rejection {
        // Missing fields, wrong types: serde's message names the field and the position.
        JsonRejection::JsonDataError(err) => ApiError::bad_request("invalid_body", err.body_text()),
        JsonRejection::JsonSyntaxError(err) => {
            ApiError::bad_request("invalid_json", err.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::bad_request(
            "invalid_json",
            "expected a JSON body with `Content-Type: application/json`",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
        other => ApiError::bad_request("invalid_body", other.body_text()),
    }
}

/// Path parameters of type `T`, e.g. `Path<i64>` for `/books/{id}`.
pub(crate) struct Path<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_error(&rejection)),
        }
    }
}

fn path_error(rejection: &PathRejection) -> ApiError {
    if rejection.status().is_server_error() {
        // The route and the extractor disagree about the parameters: our bug, not the client's.
        return ApiError::internal(rejection.body_text());
    }
    ApiError::bad_request("invalid_path", rejection.body_text())
}
