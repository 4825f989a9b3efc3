//! Why an issuer could not be discovered or its keys fetched.

use std::fmt;

/// Why [`Issuer::discover`](crate::Issuer::discover) failed, or a key refresh did (refresh
/// failures are logged and the previous keys stay in use).
#[derive(Debug)]
#[non_exhaustive]
pub enum IssuerError {
    /// The URL does not parse, or has parts an issuer or key set URL can't have.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The URL is not `https://`; plain `http://` is accepted only to a loopback address.
    NotHttps {
        /// The URL as given.
        url: String,
    },
    /// The HTTP client could not be built (e.g. no usable TLS trust store).
    Client(Box<dyn std::error::Error + Send + Sync>),
    /// The request failed: connection refused, TLS, DNS, a broken body.
    Unreachable {
        /// The URL requested.
        url: String,
        /// The transport's error.
        source: reqwest::Error,
    },
    /// The connect or total timeout passed.
    TimedOut {
        /// The URL requested.
        url: String,
    },
    /// The answer was not `200 OK`; redirects are refused, not followed.
    Status {
        /// The URL requested.
        url: String,
        /// The status received.
        status: u16,
    },
    /// The answer's body is larger than the configured cap; reading stopped there.
    TooLarge {
        /// The URL requested.
        url: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The answer is not the JSON document expected.
    BadJson {
        /// The URL requested.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The discovery document names another issuer than the configured one (OpenID Connect
    /// Discovery §4.3: they must be identical).
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's `issuer`.
        found: String,
    },
    /// Two keys of the key set share a `kid`: the set is refused as a whole.
    DuplicateKid {
        /// The `kid` that appears more than once.
        kid: String,
    },
    /// The discovery document names no endpoint that is needed: `jwks_uri` (the keys that
    /// verify the issuer's tokens), or for sign-in `token_endpoint` or
    /// `authorization_endpoint`.
    MissingEndpoint {
        /// The discovery document's field.
        field: &'static str,
    },
    /// The key set has no key this verifier can use (with a `kid`, for signatures, of an
    /// allowed algorithm).
    NoUsableKeys {
        /// The key set's URL.
        url: String,
    },
}

impl fmt::Display for IssuerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { url, reason } => write!(f, "`{url}` is not usable: {reason}"),
            Self::NotHttps { url } => write!(
                f,
                "`{url}` is not https (plain http is allowed only to a loopback address)"
            ),
            Self::Client(err) => write!(f, "the HTTP client could not be built: {err}"),
            Self::Unreachable { url, source } => write!(f, "`{url}` is unreachable: {source}"),
            Self::TimedOut { url } => write!(f, "`{url}` did not answer in time"),
            Self::Status { url, status } if (300..400).contains(status) => write!(
                f,
                "`{url}` answered a redirect ({status}); redirects are not followed"
            ),
            Self::Status { url, status } => write!(f, "`{url}` answered {status}, not 200"),
            Self::TooLarge { url, limit } => {
                write!(f, "`{url}` answered more than {limit} bytes")
            }
            Self::BadJson { url, reason } => {
                write!(f, "`{url}` did not answer the expected JSON: {reason}")
            }
            Self::IssuerMismatch { expected, found } => write!(
                f,
                "the discovery document's issuer `{found}` is not the configured `{expected}`"
            ),
            Self::DuplicateKid { kid } => {
                write!(f, "the key set has more than one key with kid `{kid}`")
            }
            Self::MissingEndpoint { field } => {
                let need = match *field {
                    "jwks_uri" => "verifying the issuer's tokens",
                    _ => "sign-in",
                };
                write!(
                    f,
                    "the discovery document has no `{field}`, which {need} needs"
                )
            }
            Self::NoUsableKeys { url } => write!(
                f,
                "the key set at `{url}` has no usable signing key (RS256, ES256 or EdDSA, with a kid)"
            ),
        }
    }
}

impl std::error::Error for IssuerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unreachable { source, .. } => Some(source),
            Self::Client(err) => Some(err.as_ref()),
            _ => None,
        }
    }
}
