//! The JSON envelopes of successful answers.

use jwt_router::TokenPair;
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

/// `{"data": ..., "token": "...", "refresh_token": "..."}`: a registration or a sign-in, which
/// start a session.
#[derive(Serialize)]
pub(crate) struct WithPair<T> {
    pub(crate) data: T,
    #[serde(flatten)]
    pub(crate) pair: TokenPair,
}
