//! The claims of an issuer's token, typed, and their checks.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::token::{Times, check_times, parse_segment};

/// The verified claims of a token from an external OpenID Connect issuer.
///
/// The standard claims are typed; every claim, the application's own included, is in
/// [`raw`](Self::raw).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IssuerClaims {
    /// The issuer (`iss`), equal to the configured one.
    pub iss: String,
    /// The subject (`sub`): the user's stable id at this issuer.
    pub sub: String,
    /// The audiences (`aud`); the configured audience is one of them.
    pub aud: Vec<String>,
    /// The authorized party (`azp`), equal to the configured audience when present.
    pub azp: Option<String>,
    /// Expires at, seconds since the Unix epoch.
    pub exp: u64,
    /// Not valid before, seconds since the Unix epoch.
    pub nbf: Option<u64>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: Option<u64>,
    /// The user's email address, as the issuer knows it.
    pub email: Option<String>,
    /// Whether the issuer verified [`email`](Self::email): `true` only for the JSON `true` or
    /// the string `"true"` (which some providers send); absent is `false`.
    pub email_verified: bool,
    /// The `nonce` of the authentication request, for the sign-in flow to compare.
    pub nonce: Option<String>,
    /// Every claim of the token as JSON, for application-specific ones.
    pub raw: Map<String, Value>,
}

/// The typed claims as they arrive; duplicates of these names are refused by serde.
#[derive(Deserialize)]
struct Wire {
    iss: Option<String>,
    sub: String,
    aud: Option<Audience>,
    azp: Option<String>,
    exp: u64,
    nbf: Option<u64>,
    iat: Option<u64>,
    email: Option<String>,
    email_verified: Option<Verified>,
    nonce: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Verified {
    Bool(bool),
    Text(String),
}

/// What the claims must say, and the clock to check them against.
pub(super) struct Expected<'a> {
    pub(super) issuer: &'a str,
    pub(super) audience: &'a str,
    pub(super) now: u64,
    pub(super) leeway: u64,
}

impl IssuerClaims {
    /// The email, trimmed, if the issuer verified it; [`AuthError::EmailNotVerified`] if it did
    /// not or the token carries none.
    pub fn verified_email(&self) -> Result<&str, AuthError> {
        match &self.email {
            Some(email) if self.email_verified && !email.trim().is_empty() => Ok(email.trim()),
            _ => Err(AuthError::EmailNotVerified),
        }
    }

    /// The claims of `json` (a verified payload), checked against `expected`.
    pub(super) fn check(json: &str, expected: &Expected<'_>) -> Result<Self, AuthError> {
        let wire: Wire = parse_segment(json)?;
        if !same_issuer(wire.iss.as_deref(), expected.issuer) {
            return Err(AuthError::WrongIssuer);
        }
        let aud = match wire.aud {
            Some(Audience::One(aud)) => vec![aud],
            Some(Audience::Many(aud)) => aud,
            None => Vec::new(),
        };
        if !aud.iter().any(|aud| aud == expected.audience)
            || wire
                .azp
                .as_deref()
                .is_some_and(|azp| azp != expected.audience)
        {
            return Err(AuthError::WrongAudience);
        }
        let times = Times {
            exp: wire.exp,
            nbf: wire.nbf,
            iat: wire.iat,
        };
        check_times(times, expected.now, expected.leeway)?;
        Ok(Self {
            iss: expected.issuer.to_owned(),
            sub: wire.sub,
            aud,
            azp: wire.azp,
            exp: wire.exp,
            nbf: wire.nbf,
            iat: wire.iat,
            email: wire.email,
            email_verified: matches!(wire.email_verified, Some(Verified::Bool(true)))
                || matches!(&wire.email_verified, Some(Verified::Text(text)) if text == "true"),
            nonce: wire.nonce,
            raw: parse_segment(json)?,
        })
    }
}

/// Whether a token's `iss` names the configured issuer: exactly, but for Google, whose ID
/// tokens carry either `https://accounts.google.com` or `accounts.google.com` (Google's
/// OpenID Connect documentation says to accept both).
fn same_issuer(found: Option<&str>, expected: &str) -> bool {
    found == Some(expected)
        || (expected == crate::signin::GOOGLE_ISSUER && found == Some("accounts.google.com"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const EXPECTED: Expected<'static> = Expected {
        issuer: "https://issuer.test",
        audience: "app",
        now: 1000,
        leeway: 0,
    };

    fn check(claims: Value) -> Result<IssuerClaims, AuthError> {
        IssuerClaims::check(&claims.to_string(), &EXPECTED)
    }

    fn valid() -> Value {
        json!({"iss": "https://issuer.test", "aud": "app", "sub": "u1", "exp": 2000, "iat": 900})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut claims = valid();
        claims[field] = value;
        claims
    }

    #[test]
    fn email_verified_accepts_true_and_the_string_true_only() {
        for (value, verified) in [
            (json!(true), true),
            (json!("true"), true),
            (json!(false), false),
            (json!("false"), false),
            (json!("yes"), false),
        ] {
            let claims = check(with("email_verified", value.clone())).expect("valid");
            assert_eq!(claims.email_verified, verified, "{value}");
        }
        assert!(!check(valid()).expect("valid").email_verified);
        assert!(check(with("email_verified", json!(1))).is_err());
    }

    #[test]
    fn audience_may_be_a_list_and_azp_must_be_ours() {
        let claims = check(with("aud", json!(["other", "app"]))).expect("valid");
        assert_eq!(claims.aud, ["other", "app"]);
        assert_eq!(
            check(with("azp", json!("app"))).map(|c| c.azp),
            Ok(Some("app".into()))
        );
        assert_eq!(
            check(with("azp", json!("other"))),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(
            check(with("aud", json!(["other"]))),
            Err(AuthError::WrongAudience)
        );
        let mut no_aud = valid();
        no_aud.as_object_mut().expect("object").remove("aud");
        assert_eq!(check(no_aud), Err(AuthError::WrongAudience));
    }

    #[test]
    fn issuer_must_be_identical() {
        for iss in [
            json!("https://issuer.test/"),
            json!("HTTPS://issuer.test"),
            json!(null),
        ] {
            assert_eq!(check(with("iss", iss)), Err(AuthError::WrongIssuer));
        }
    }

    #[test]
    fn google_tokens_may_spell_the_issuer_without_its_scheme() {
        let google = Expected {
            issuer: crate::signin::GOOGLE_ISSUER,
            ..EXPECTED
        };
        for iss in ["https://accounts.google.com", "accounts.google.com"] {
            let claims = IssuerClaims::check(&with("iss", json!(iss)).to_string(), &google)
                .expect("Google's two spellings");
            assert_eq!(claims.iss, "https://accounts.google.com");
        }
        for iss in [
            "http://accounts.google.com",
            "accounts.google.com/",
            "google.com",
        ] {
            let claims = with("iss", json!(iss)).to_string();
            assert_eq!(
                IssuerClaims::check(&claims, &google),
                Err(AuthError::WrongIssuer),
                "{iss}"
            );
        }
        // Only Google's issuer has a second spelling.
        assert_eq!(
            check(with("iss", json!("issuer.test"))),
            Err(AuthError::WrongIssuer)
        );
    }

    #[test]
    fn raw_claims_keep_the_application_claims() {
        let claims = check(with("roles", json!(["admin"]))).expect("valid");
        assert_eq!(claims.raw["roles"], json!(["admin"]));
        assert_eq!(claims.raw["sub"], json!("u1"));
    }

    #[test]
    fn duplicate_claims_are_refused() {
        let json = r#"{"iss":"https://issuer.test","aud":"app","sub":"u1","sub":"u2","exp":2000}"#;
        assert!(matches!(
            IssuerClaims::check(json, &EXPECTED),
            Err(AuthError::InvalidToken(_))
        ));
    }
}
