//! Claims, signing and strict verification: HMAC-SHA256 keyed once at startup (RustCrypto's
//! `hmac`), jsonwebtoken's `Header` for the header checks, the rest checked here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, Header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::Entity;
use crate::error::AuthError;

/// The claims of a jwt-router token, as the seeds define them.
///
/// Also an extractor: a handler that takes `Claims` gets the verified claims of the request
/// (401 if the route carries no verified token, e.g. a public route called without one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The entity's id, as a string.
    pub sub: String,
    /// The entity's table, e.g. `users`: which [`Entity`] the id belongs to.
    pub table_name: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, seconds since the Unix epoch. Required.
    pub exp: u64,
    /// Not valid before, seconds since the Unix epoch. Checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// The refusal of a token over the size cap, wherever the cap is checked first.
pub(crate) const TOO_LARGE: AuthError = AuthError::InvalidToken("the token is larger than allowed");

/// The refusal of a token whose signature does not verify.
pub(crate) const BAD_SIGNATURE: AuthError =
    AuthError::InvalidToken("the token's signature does not match");

/// The three segments of a compact JWS, size-capped before anything is decoded.
pub(crate) struct Segments<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    /// `header.payload`: what the signature covers.
    pub(crate) signed: &'a str,
}

impl<'a> Segments<'a> {
    pub(crate) fn split(token: &'a str, max_bytes: usize) -> Result<Self, AuthError> {
        if token.len() > max_bytes {
            return Err(TOO_LARGE);
        }
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(AuthError::InvalidToken(
                "a token has three dot-separated segments",
            ));
        };
        Ok(Self {
            header,
            payload,
            signature,
            signed: &token[..header.len() + 1 + payload.len()],
        })
    }
}

/// The header of every token this server mints, as jsonwebtoken writes `Header::new(HS256)`.
const HEADER: &str = r#"{"typ":"JWT","alg":"HS256"}"#;

/// Bytes of an HMAC-SHA256 signature.
const SIGNATURE_BYTES: usize = 32;

/// Token settings fixed at build time: the key, the pinned algorithm and the time rules.
pub(crate) struct TokenKeys {
    /// HMAC-SHA256 keyed with the secret once; cloned per token instead of re-keyed.
    mac: Hmac<Sha256>,
    /// `HEADER`, base64url-encoded once.
    header: String,
    pub(crate) expire: Duration,
    pub(crate) leeway: u64,
    pub(crate) max_token_bytes: usize,
    /// The registered entity tables: a token for any other table is refused, and never minted.
    tables: Vec<&'static str>,
}

impl TokenKeys {
    pub(crate) fn new(
        secret: &[u8],
        expire: Duration,
        leeway: Duration,
        max_token_bytes: usize,
        tables: Vec<&'static str>,
    ) -> Self {
        Self {
            // HMAC takes a key of any length; `build` has refused short secrets already.
            mac: Hmac::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!("HMAC keys have any length")),
            header: URL_SAFE_NO_PAD.encode(HEADER),
            expire,
            leeway: leeway.as_secs(),
            max_token_bytes,
            tables,
        }
    }

    /// A fresh token for the entity `table_name`/`sub`, valid for the configured expiry.
    pub(crate) fn issue(&self, table_name: &str, sub: String) -> Result<String, AuthError> {
        if !self.tables.contains(&table_name) {
            return Err(AuthError::Misconfigured(
                "tokens are minted only for entities registered with JwtRoutes::builder().entity::<E>()",
            ));
        }
        self.sign(table_name, sub)
    }

    fn sign(&self, table_name: &str, sub: String) -> Result<String, AuthError> {
        let iat = now();
        let claims = Claims {
            sub,
            table_name: table_name.to_owned(),
            iat,
            exp: iat.saturating_add(self.expire.as_secs()),
            nbf: None,
        };
        let claims = serde_json::to_vec(&claims)
            .map_err(|_| AuthError::Misconfigured("the token could not be signed"))?;
        let mut token = format!("{}.{}", self.header, URL_SAFE_NO_PAD.encode(claims));
        let mut mac = self.mac.clone();
        mac.update(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
        Ok(token)
    }

    /// A token for an entity of type `E`.
    pub(crate) fn issue_for<E: Entity>(&self, id: &E::Id) -> Result<String, AuthError> {
        if !self.tables.contains(&E::TABLE_NAME) {
            return Err(unregistered::<E>());
        }
        self.sign(E::TABLE_NAME, id.to_string())
    }

    /// Verifies `token` strictly and returns its claims. Each part is decoded once, cheap
    /// checks first, so a forged token costs no more than a valid one: size, shape, header
    /// (the pinned algorithm, no key-choosing fields), signature, and only then the claims.
    /// jsonwebtoken's own `decode` is not used: it parses header and claims twice, and its
    /// time checks (60 s default leeway, no `nbf`, `exp == now` accepted) are too lax.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let segments = Segments::split(token, self.max_token_bytes)?;
        let parsed: Header = decode_segment(segments.header)?;
        if parsed.alg != Algorithm::HS256 {
            return Err(AuthError::InvalidToken(
                "the token's algorithm is not the one this server uses",
            ));
        }
        check_header(&parsed)?;
        if !self.signature_matches(segments.signed, segments.signature) {
            return Err(BAD_SIGNATURE);
        }
        let claims: Claims = decode_segment(segments.payload)?;
        check_times(&claims, now(), self.leeway)?;
        if !self.tables.contains(&claims.table_name.as_str()) {
            return Err(AuthError::InvalidToken(
                "the token's `table_name` is not a registered entity",
            ));
        }
        Ok(claims)
    }
}

/// The refusal for an entity type the builder does not know, logged: it is the server's bug.
pub(crate) fn unregistered<E: Entity>() -> AuthError {
    let entity = std::any::type_name::<E>();
    tracing::error!(
        entity,
        "jwt-router: entity type used but not registered with the builder"
    );
    AuthError::UnregisteredEntity(entity)
}

impl TokenKeys {
    /// Whether `signature` (base64url) is the HMAC of `signed`, compared in constant time.
    fn signature_matches(&self, signed: &str, signature: &str) -> bool {
        // Room for one byte more than a signature, so a longer one decodes and then fails.
        let mut decoded = [0; SIGNATURE_BYTES + 1];
        let Ok(len) = URL_SAFE_NO_PAD.decode_slice(signature, &mut decoded) else {
            return false;
        };
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        mac.verify_slice(&decoded[..len]).is_ok()
    }
}

/// A base64url (unpadded) JSON segment of a token, into `T`; duplicate keys are refused.
pub(crate) fn decode_segment<T: DeserializeOwned>(segment: &str) -> Result<T, AuthError> {
    parse_segment(&segment_text(segment)?)
}

/// The text of a base64url (unpadded) segment, checked to be UTF-8.
pub(crate) fn segment_text(segment: &str) -> Result<String, AuthError> {
    let json = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::InvalidToken("the token is not valid base64url"))?;
    // JSON is UTF-8 (RFC 8259 §8.1); serde_json would skip an unread field's bad bytes.
    String::from_utf8(json)
        .map_err(|_| AuthError::InvalidToken("the token's header or claims are not UTF-8"))
}

/// A segment's JSON text into `T`; a typed struct refuses duplicate keys.
pub(crate) fn parse_segment<T: DeserializeOwned>(json: &str) -> Result<T, AuthError> {
    serde_json::from_str(json).map_err(|_| {
        AuthError::InvalidToken("the token's header or claims are not the expected JSON")
    })
}

/// Refuses header fields that would let the token choose its own key or demand extensions
/// this verifier does not implement (RFC 8725 §2.5, RFC 7515 §4.1.11).
pub(crate) fn check_header(header: &Header) -> Result<(), AuthError> {
    if header.crit.is_some() {
        return Err(AuthError::InvalidToken(
            "the token has a `crit` header this server does not understand",
        ));
    }
    if header.jku.is_some() || header.jwk.is_some() || header.x5u.is_some() || header.x5c.is_some()
    {
        return Err(AuthError::InvalidToken(
            "the token names its own key (`jku`, `jwk`, `x5u` or `x5c`); keys are never taken from tokens",
        ));
    }
    match &header.typ {
        Some(typ) if !typ.eq_ignore_ascii_case("JWT") => {
            Err(AuthError::InvalidToken("the token's `typ` is not JWT"))
        }
        _ => Ok(()),
    }
}

/// The time claims of a token, ours or an issuer's.
#[derive(Clone, Copy)]
pub(crate) struct Times {
    pub(crate) exp: u64,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
}

impl From<&Claims> for Times {
    fn from(claims: &Claims) -> Self {
        Self {
            exp: claims.exp,
            nbf: claims.nbf,
            iat: Some(claims.iat),
        }
    }
}

/// `exp` (required), `nbf` and `iat` against `now`, with an explicit leeway in seconds.
pub(crate) fn check_times(times: impl Into<Times>, now: u64, leeway: u64) -> Result<(), AuthError> {
    let times = times.into();
    if now >= times.exp.saturating_add(leeway) {
        return Err(AuthError::ExpiredToken);
    }
    if times
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(AuthError::InvalidToken(
            "the token is not valid yet (`nbf`)",
        ));
    }
    if times
        .iat
        .is_some_and(|iat| iat > now.saturating_add(leeway))
    {
        return Err(AuthError::InvalidToken(
            "the token was issued in the future (`iat`)",
        ));
    }
    Ok(())
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(iat: u64, exp: u64, nbf: Option<u64>) -> Claims {
        Claims {
            sub: "1".into(),
            table_name: "users".into(),
            iat,
            exp,
            nbf,
        }
    }

    #[test]
    fn exp_boundary_is_exclusive_after_leeway() {
        let c = claims(0, 1000, None);
        assert_eq!(check_times(&c, 999, 0), Ok(()));
        assert_eq!(check_times(&c, 1000, 0), Err(AuthError::ExpiredToken));
        assert_eq!(check_times(&c, 1004, 5), Ok(()));
        assert_eq!(check_times(&c, 1005, 5), Err(AuthError::ExpiredToken));
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_refused_beyond_leeway() {
        let c = claims(0, 5000, Some(1000));
        assert_eq!(check_times(&c, 1000, 0), Ok(()));
        assert!(check_times(&c, 999, 0).is_err());
        assert_eq!(check_times(&c, 995, 5), Ok(()));
        assert!(check_times(&c, 994, 5).is_err());
        let c = claims(1000, 5000, None);
        assert!(check_times(&c, 999, 0).is_err());
        assert_eq!(check_times(&c, 995, 5), Ok(()));
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(
            b"a unit-test secret of at least 32 bytes",
            Duration::from_secs(60),
            Duration::ZERO,
            4096,
            vec!["users"],
        )
    }

    #[test]
    fn minted_header_is_the_one_jsonwebtoken_writes() {
        let expected = serde_json::to_vec(&Header::new(Algorithm::HS256)).expect("serializes");
        assert_eq!(keys().header, URL_SAFE_NO_PAD.encode(expected));
    }

    #[test]
    fn signature_must_be_exact_in_length_and_bytes() {
        let keys = keys();
        let token = keys.issue("users", "1".into()).expect("signs");
        assert_eq!(keys.verify(&token).map(|c| c.sub), Ok("1".to_owned()));
        let (signed, signature) = token.rsplit_once('.').expect("three segments");
        let decoded = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        assert_eq!(decoded.len(), SIGNATURE_BYTES);
        let longer = URL_SAFE_NO_PAD.encode([&decoded[..], &[0]].concat());
        let shorter = URL_SAFE_NO_PAD.encode(&decoded[..SIGNATURE_BYTES - 1]);
        let much_longer = URL_SAFE_NO_PAD.encode([0; 100]);
        for bad in [longer, shorter, much_longer, String::new()] {
            assert!(!keys.signature_matches(signed, &bad), "{bad}");
        }
        assert!(keys.signature_matches(signed, signature));
    }

    #[test]
    fn huge_exp_does_not_overflow() {
        assert_eq!(
            check_times(&claims(0, u64::MAX, None), 10, u64::MAX),
            Ok(())
        );
    }
}
