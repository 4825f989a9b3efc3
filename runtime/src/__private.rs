//! What the generated code calls. Not a public API: names and shapes change without notice.

pub use crate::entity::{Authed, Entity};
pub use crate::table::{Method, Policy, ROUTES, RouteDecl, TypeKey, mount, type_key};
pub use axum;
pub use linkme;

/// A parameter before the last: axum extracts it from the request head. The macro's
/// per-parameter check asks for this trait rather than `FromRequestParts` itself, so the error
/// names the parameter's type and the rule, instead of listing whichever `FromRequestParts`
/// impls rustc finds (a list whose order changes with the crates' paths).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an axum extractor for this route's state",
    label = "not an extractor",
    note = "a parameter before the last must implement `axum::extract::FromRequestParts<{S}>`, where `{S}` is the route's state; see https://docs.rs/axum/0.8/axum/extract/index.html"
)]
pub trait PartsExtractor<S> {}

#[diagnostic::do_not_recommend]
impl<S, T: axum::extract::FromRequestParts<S> + Send> PartsExtractor<S> for T {}

/// The last parameter: it may read the body. See [`PartsExtractor`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an axum extractor for this route's state",
    label = "not an extractor",
    note = "the last parameter must implement `axum::extract::FromRequest<{S}>` or `FromRequestParts<{S}>`, where `{S}` is the route's state; see https://docs.rs/axum/0.8/axum/extract/index.html"
)]
pub trait BodyExtractor<S, M> {}

#[diagnostic::do_not_recommend]
impl<S, M, T: axum::extract::FromRequest<S, M> + Send> BodyExtractor<S, M> for T {}

/// `a == b`, usable in constants (the compile-time entity table check).
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A string built at compile time, so a const panic can name values it only knows then.
pub struct ConstMessage {
    buf: [u8; 512],
    len: usize,
}

impl ConstMessage {
    /// An empty message.
    pub const fn new() -> Self {
        Self {
            buf: [0; 512],
            len: 0,
        }
    }

    /// Appends `s`, truncated at a character boundary when the buffer is full.
    pub const fn push(mut self, s: &str) -> Self {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.buf.len() {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// The message so far.
    pub const fn as_str(&self) -> &str {
        let mut len = self.len;
        loop {
            match core::str::from_utf8(self.buf.split_at(len).0) {
                Ok(s) => return s,
                Err(_) => len -= 1,
            }
        }
    }
}

impl std::fmt::Debug for ConstMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ConstMessage").field(&self.as_str()).finish()
    }
}

impl Default for ConstMessage {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_helpers_work_in_constants() {
        const EQ: bool = str_eq("users", "users");
        const NE: bool = str_eq("users", "teachers");
        const MSG: ConstMessage = ConstMessage::new()
            .push("table \"")
            .push("users")
            .push("\"");
        const { assert!(EQ && !NE) };
        assert_eq!(MSG.as_str(), "table \"users\"");
    }
}
