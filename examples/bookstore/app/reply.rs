//! The JSON envelopes of successful answers.

use serde::Serialize;

/// `{"data": ...}`.
#[derive(Serialize)]
pub(crate) struct Data<T> {
    pub(crate) data: T,
}

/// `{"data": ..., "token": "..."}`: a registration, or `GET /users/me` with a refreshed token.
#[derive(Serialize)]
pub(crate) struct WithToken<T> {
    pub(crate) data: T,
    pub(crate) token: String,
}

/// `{"token": "..."}`: a login.
#[derive(Serialize)]
pub(crate) struct TokenOnly {
    pub(crate) token: String,
}
