//! Tokens of external OpenID Connect issuers (feature `oidc`), accepted by the guard like our
//! own and mapped to one entity table each.

use std::fmt;

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
    iss: String,
}

/// Verifies `token` with the issuer its `iss` names, from cached keys only: never a network
/// call on the request path. A `kid` the cache lacks starts a refresh in the background (the
/// issuer spaces them by its cooldown) and is refused now with `unknown_key`.
pub(crate) fn verify(issuers: &[ExternalIssuer], token: &str) -> Result<Claims, AuthError> {
    let segments = Segments::split(token, usize::MAX)?;
    let IssuerOnly { iss } = parse_segment(&segment_text(segments.payload)?)?;
    let external = issuers
        .iter()
        .find(|external| external.issuer.issuer() == iss)
        .ok_or(AuthError::WrongIssuer)?;
    match external.issuer.verify_cached(token) {
        Ok(issued) => external.claims(issued),
        Err(AuthError::UnknownKey) => {
            refresh_in_background(&external.issuer, token);
            Err(AuthError::UnknownKey)
        }
        Err(err) => Err(err),
    }
}

fn refresh_in_background(issuer: &Issuer, token: &str) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let (issuer, token) = (issuer.clone(), token.to_owned());
    runtime.spawn(async move {
        // The issuer fetches its key set at most once per cooldown for unknown kids.
        let _ = issuer.verify(&token).await;
    });
}

impl ExternalIssuer {
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
