//! Tokens of external OpenID Connect issuers (feature `oidc`), accepted by the guard like our
//! own and mapped to one entity table each.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;

use crate::error::AuthError;
use crate::token::{Claims, Segments, parse_segment, segment_text};
use crate::{Issuer, IssuerClaims};

/// How an external issuer's token names its entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExternalId {
    /// The token's `sub` is the entity's id, loaded with `Entity::load`.
    Subject,
    /// The token's `email`, accepted only when the issuer says `email_verified`, loaded with
    /// `Entity::load_by_claim(store, "email", email)`.
    VerifiedEmail,
}

/// An issuer whose tokens the guard accepts, and the entity they name.
#[derive(Clone)]
pub(crate) struct ExternalIssuer {
    pub(crate) issuer: Issuer,
    pub(crate) table: &'static str,
    pub(crate) id: ExternalId,
    /// Set while a refresh started by an unknown kid runs: one task at a time, whatever the
    /// rate of forged kids (the issuer spaces the fetches themselves by its cooldown).
    pub(crate) refreshing: Arc<AtomicBool>,
}

impl fmt::Debug for ExternalIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalIssuer")
            .field("issuer", &self.issuer.issuer())
            .field("table", &self.table)
            .field("id", &self.id)
            .finish()
    }
}

/// Only the `iss` of a token, read before verification to pick the issuer that verifies it.
#[derive(Deserialize)]
struct IssuerOnly {
    iss: Option<String>,
}

/// Verifies `token` with the issuer its `iss` names, from cached keys only: never a network
/// call on the request path. A `kid` the cache lacks starts a refresh in the background (the
/// issuer spaces them by its cooldown) and is refused now with `unknown_key`.
pub(crate) fn verify(issuers: &[ExternalIssuer], token: &str) -> Result<Claims, AuthError> {
    // A token without `iss` (one of ours under a dropped key, say) keeps the refusal our own
    // keys gave it; one whose `iss` no configured issuer has is from the wrong issuer.
    let iss = Segments::split(token, usize::MAX)
        .and_then(|segments| segment_text(segments.payload))
        .and_then(|json| parse_segment::<IssuerOnly>(&json))
        .ok()
        .and_then(|claims| claims.iss)
        .ok_or(AuthError::UnknownKey)?;
    let mut refusal = AuthError::WrongIssuer;
    // Several clients (web, mobile) of one provider are several issuers with one `iss`.
    for external in issuers.iter().filter(|e| e.issuer.issuer() == iss) {
        match external.issuer.verify_cached(token) {
            Ok(issued) => return external.claims(issued),
            Err(AuthError::UnknownKey) => {
                external.refresh_in_background(token);
                refusal = AuthError::UnknownKey;
            }
            Err(err) => refusal = err,
        }
    }
    Err(refusal)
}

impl ExternalIssuer {
    fn refresh_in_background(&self, token: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (issuer, token, refreshing) = (
            self.issuer.clone(),
            token.to_owned(),
            Arc::clone(&self.refreshing),
        );
        runtime.spawn(async move {
            let _ = issuer.verify(&token).await;
            refreshing.store(false, Ordering::Release);
        });
    }

    /// The verified claims as ours: the entity's table, and its id or email as `sub`.
    fn claims(&self, issued: IssuerClaims) -> Result<Claims, AuthError> {
        match self.id {
            ExternalId::Subject => {
                let sub = issued.sub.clone();
                Ok(Claims::external(issued, self.table, sub, None))
            }
            ExternalId::VerifiedEmail => {
                let email = issued.verified_email()?.to_owned();
                Ok(Claims::external(issued, self.table, email, Some("email")))
            }
        }
    }
}
