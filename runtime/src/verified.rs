//! The verified-token cache ([`JwtRoutesBuilder::verified_cache`]): access tokens this server
//! verified, by their exact bytes, so a token presented again skips the signature check and
//! the claims' parse.
//!
//! Only a token that passed every check of `verify` goes in, so a forged or altered token
//! (other bytes) can't enter or replace an entry; the time checks run again on every hit, so a
//! cached token expires as it would uncached; and everything after `verify` (entity, roles,
//! scopes, freshness, revocation) runs for a cached token as for any other. Tokens of external
//! issuers are not cached: their key sets change at runtime.
//!
//! [`JwtRoutesBuilder::verified_cache`]: crate::JwtRoutesBuilder::verified_cache

use quick_cache::sync::Cache;

use crate::token::Claims;

/// At most `capacity` verified tokens and their claims; quick_cache's S3-FIFO keeps the ones
/// in use when a stream of tokens seen once passes through.
pub(crate) struct Verified(Cache<Box<str>, Claims>);

impl Verified {
    pub(crate) fn new(capacity: usize) -> Self {
        Self(Cache::new(capacity))
    }

    /// The claims `token` had when it was verified, if it is cached.
    pub(crate) fn get(&self, token: &str) -> Option<Claims> {
        self.0.get(token)
    }

    /// Remembers `token`, which `verify` just accepted with `claims`.
    pub(crate) fn insert(&self, token: &str, claims: &Claims) {
        self.0.insert(token.into(), claims.clone());
    }
}
