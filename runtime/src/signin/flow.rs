//! The redirect flow for server-rendered apps: the authorization URL with `state`, `nonce`
//! and a PKCE S256 challenge (RFC 7636), and the callback's check of them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use super::Exchange;
use crate::error::AuthError;
use crate::token::{random_base64url, same_secret};

/// Where to send the browser, and what its callback is checked against.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Authorization {
    /// The provider's authorization URL, with every parameter of this sign-in.
    pub url: String,
    /// Keep this with the browser's session (server-side, or in an HttpOnly cookie) until the
    /// callback; it is single-use.
    pub pending: PendingSignIn,
}

/// A sign-in sent to the provider and not yet back: its `state`, `nonce`, PKCE verifier and
/// redirect URI. Serializable, so the app can store it where it keeps sessions.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    state: String,
    nonce: String,
    code_verifier: String,
    redirect_uri: String,
}

impl PendingSignIn {
    /// The `state` sent, which the callback's must equal: a key to find this pending sign-in by.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// Whether the callback's `state` is the one sent ([`AuthError::StateMismatch`] if not),
    /// for a callback without a code: a provider's `error=access_denied` comes back with the
    /// `state` too, and without it is anyone's link, not the provider's answer.
    ///
    /// ```
    /// # extern crate jwt_router_runtime as jwt_router;
    /// use jwt_router::{AuthError, PendingSignIn};
    ///
    /// /// The page for `/callback?error=..&state=..`.
    /// fn declined(pending: &PendingSignIn, error: &str, state: &str) -> Result<String, AuthError> {
    ///     pending.check_state(state)?;
    ///     Ok(format!("The provider did not sign you in ({error})."))
    /// }
    /// ```
    pub fn check_state(&self, state: &str) -> Result<(), AuthError> {
        if same_secret(&self.state, state) {
            Ok(())
        } else {
            Err(AuthError::StateMismatch)
        }
    }

    /// The exchange for the callback's `code`, once its `state` is the one sent
    /// ([`AuthError::StateMismatch`] otherwise). The exchange carries this sign-in's verifier,
    /// nonce and redirect URI.
    pub fn exchange<'a>(&'a self, code: &'a str, state: &str) -> Result<Exchange<'a>, AuthError> {
        self.check_state(state)?;
        Ok(Exchange::code(code)
            .redirect_uri(&self.redirect_uri)
            .code_verifier(&self.code_verifier)
            .nonce(&self.nonce))
    }
}

impl fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("state", &self.state)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// The authorization URL for a fresh sign-in, and what it sent.
pub(super) fn authorize(
    endpoint: &Url,
    client_id: &str,
    redirect_uri: &str,
    scopes: &str,
    hosted_domain: Option<&str>,
) -> Result<Authorization, AuthError> {
    let pending = PendingSignIn {
        state: random_base64url::<16>()?,
        nonce: random_base64url::<16>()?,
        // 32 bytes: 43 characters, the least RFC 7636 §4.1 allows, and 256 bits of entropy.
        code_verifier: random_base64url::<32>()?,
        redirect_uri: redirect_uri.to_owned(),
    };
    let mut url = endpoint.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", scopes)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge(&pending.code_verifier))
            .append_pair("code_challenge_method", "S256");
        if let Some(domain) = hosted_domain {
            query.append_pair("hd", domain);
        }
    }
    Ok(Authorization {
        url: url.into(),
        pending,
    })
}

/// The S256 challenge of a PKCE verifier: `BASE64URL(SHA256(verifier))`.
pub(crate) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_is_rfc_7636_s256() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn authorization_url_carries_every_parameter_and_the_pending_sign_in_checks_state() {
        let endpoint = Url::parse("https://idp.test/auth?prompt=login").expect("url");
        let auth = authorize(
            &endpoint,
            "app",
            "https://app.test/cb",
            "openid email",
            None,
        )
        .expect("authorize");
        let url = Url::parse(&auth.url).expect("url");
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        let pending = &auth.pending;
        assert_eq!(query["prompt"], "login");
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], "app");
        assert_eq!(query["redirect_uri"], "https://app.test/cb");
        assert_eq!(query["state"], pending.state);
        assert_eq!(query["nonce"], pending.nonce);
        assert_eq!(query["code_challenge"], challenge(&pending.code_verifier));
        assert_eq!(query["code_challenge_method"], "S256");
        assert!(!auth.url.contains(&pending.code_verifier));
        assert_eq!(pending.check_state(&pending.state), Ok(()));
        for forged in ["forged", "", &pending.state[1..]] {
            assert_eq!(pending.check_state(forged), Err(AuthError::StateMismatch));
        }
        assert!(pending.exchange("code", &pending.state).is_ok());
        assert_eq!(
            pending.exchange("code", "forged").map(|_| ()),
            Err(AuthError::StateMismatch)
        );
        let again =
            authorize(&endpoint, "app", "https://app.test/cb", "openid", None).expect("authorize");
        assert_ne!(again.pending.state, pending.state);
    }
}
