//! Keys that sign and verify tokens: HMAC secrets (HS256/384/512) always, ES256, EdDSA and
//! RS256 with the `asymmetric` feature. Each key has its algorithm and, optionally, a `kid`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::Algorithm;
use sha2::{Sha256, Sha384, Sha512};

use crate::config_error::Problem;

/// A key that signs and/or verifies tokens, with its algorithm and an optional key id (`kid`).
///
/// A token's `kid` selects among the configured keys only, and its `alg` must be that key's:
/// keys are never taken from the token, and no token chooses its algorithm.
///
/// ```
/// # extern crate jwt_router_runtime as jwt_router;
/// use jwt_router::{JwtRoutes, Key};
///
/// // Rotation: the new key signs; the old one still verifies until its tokens expire.
/// let jwt = JwtRoutes::<()>::builder()
///     .signing_key(Key::hs256("a new secret of at least thirty-two bytes").with_kid("2026-11"))
///     .key(Key::hs256("the old secret, also thirty-two bytes long").with_kid("2026-05"))
///     .build()
///     .unwrap();
/// ```
pub struct Key {
    pub(crate) kid: Option<String>,
    kind: Kind,
}

enum Kind {
    Hmac {
        mac: HmacKey,
        secret: SecretShape,
    },
    #[cfg(feature = "asymmetric")]
    Asymmetric(asymmetric::KeyPair),
}

/// An HMAC keyed once; cloned per token instead of re-keyed.
#[derive(Clone)]
enum HmacKey {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

/// What `build` checks of a secret, kept instead of the secret itself.
#[derive(Clone, Copy)]
struct SecretShape {
    bytes: usize,
    repeated: bool,
}

impl Key {
    /// An HS256 key: at least 32 random bytes (RFC 7518 §3.2), checked by `build`.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        Self::hmac(secret.as_ref(), |s| {
            Hmac::new_from_slice(s).map(HmacKey::Hs256)
        })
    }

    /// An HS384 key: at least 48 random bytes, checked by `build`.
    pub fn hs384(secret: impl AsRef<[u8]>) -> Self {
        Self::hmac(secret.as_ref(), |s| {
            Hmac::new_from_slice(s).map(HmacKey::Hs384)
        })
    }

    /// An HS512 key: at least 64 random bytes, checked by `build`.
    pub fn hs512(secret: impl AsRef<[u8]>) -> Self {
        Self::hmac(secret.as_ref(), |s| {
            Hmac::new_from_slice(s).map(HmacKey::Hs512)
        })
    }

    fn hmac(
        secret: &[u8],
        key: impl FnOnce(&[u8]) -> Result<HmacKey, hmac::digest::InvalidLength>,
    ) -> Self {
        let shape = SecretShape {
            bytes: secret.len(),
            repeated: secret.iter().all(|&b| Some(&b) == secret.first()),
        };
        let mac = key(secret).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Self {
            kid: None,
            kind: Kind::Hmac { mac, secret: shape },
        }
    }

    /// The same key with this key id: minted tokens name it in their `kid` header, and a token
    /// that names it is verified with this key only.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The key's id, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match &self.kind {
            Kind::Hmac { mac, .. } => match mac {
                HmacKey::Hs256(_) => Algorithm::HS256,
                HmacKey::Hs384(_) => Algorithm::HS384,
                HmacKey::Hs512(_) => Algorithm::HS512,
            },
            #[cfg(feature = "asymmetric")]
            Kind::Asymmetric(pair) => pair.algorithm(),
        }
    }

    /// Whether this key can sign (a secret, or a private key), not only verify.
    pub fn can_sign(&self) -> bool {
        match &self.kind {
            Kind::Hmac { .. } => true,
            #[cfg(feature = "asymmetric")]
            Kind::Asymmetric(pair) => pair.can_sign(),
        }
    }

    /// What `build` refuses about this key, if anything: a short or repeated secret.
    pub(crate) fn problem(&self) -> Option<Problem> {
        #[cfg_attr(not(feature = "asymmetric"), allow(irrefutable_let_patterns))]
        let Kind::Hmac { secret, .. } = &self.kind else {
            return None;
        };
        // RFC 7518 §3.2: a key at least as long as the hash output.
        let needed = match self.algorithm() {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        };
        if secret.bytes == 0 {
            Some(Problem::EmptySecret)
        } else if secret.bytes < needed {
            Some(Problem::ShortSecret {
                bytes: secret.bytes,
                needed,
            })
        } else if secret.repeated {
            Some(Problem::RepeatedSecret)
        } else {
            None
        }
    }

    /// The base64url signature of `input`.
    pub(crate) fn sign(&self, input: &[u8]) -> Option<String> {
        match &self.kind {
            Kind::Hmac { mac, .. } => Some(URL_SAFE_NO_PAD.encode(mac.tag(input))),
            #[cfg(feature = "asymmetric")]
            Kind::Asymmetric(pair) => pair.sign(input),
        }
    }

    /// Whether `signature` (base64url) signs `input` with this key; HMACs compared in
    /// constant time.
    pub(crate) fn verifies(&self, input: &[u8], signature: &str) -> bool {
        match &self.kind {
            Kind::Hmac { mac, .. } => mac.verifies(input, signature),
            #[cfg(feature = "asymmetric")]
            Kind::Asymmetric(pair) => pair.verifies(input, signature),
        }
    }

    /// The public half as a JWK (with `kid`, `alg` and `use: sig`), for a JWKS document; `None`
    /// for HMAC secrets, which are never published.
    #[cfg(feature = "asymmetric")]
    pub(crate) fn public_jwk(&self) -> Option<jsonwebtoken::jwk::Jwk> {
        match &self.kind {
            Kind::Hmac { .. } => None,
            Kind::Asymmetric(pair) => Some(pair.public_jwk(self.kid.clone())),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm())
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

/// Bytes of the longest HMAC tag (HS512).
const MAX_TAG_BYTES: usize = 64;

impl HmacKey {
    fn tag(&self, input: &[u8]) -> Vec<u8> {
        fn tag<M: Mac + Clone>(mac: &M, input: &[u8]) -> Vec<u8> {
            let mut mac = mac.clone();
            mac.update(input);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Hs256(mac) => tag(mac, input),
            Self::Hs384(mac) => tag(mac, input),
            Self::Hs512(mac) => tag(mac, input),
        }
    }

    fn verifies(&self, input: &[u8], signature: &str) -> bool {
        // Room for one byte more than any tag, so a longer signature decodes and then fails.
        let mut decoded = [0; MAX_TAG_BYTES + 1];
        let Ok(len) = URL_SAFE_NO_PAD.decode_slice(signature, &mut decoded) else {
            return false;
        };
        fn verify<M: Mac + Clone>(mac: &M, input: &[u8], tag: &[u8]) -> bool {
            let mut mac = mac.clone();
            mac.update(input);
            mac.verify_slice(tag).is_ok()
        }
        let tag = &decoded[..len];
        match self {
            Self::Hs256(mac) => verify(mac, input, tag),
            Self::Hs384(mac) => verify(mac, input, tag),
            Self::Hs512(mac) => verify(mac, input, tag),
        }
    }
}

/// Why an asymmetric key could not be read.
#[cfg(feature = "asymmetric")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub(crate) String);

#[cfg(feature = "asymmetric")]
impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid key: {}", self.0)
    }
}

#[cfg(feature = "asymmetric")]
impl std::error::Error for KeyError {}

#[cfg(feature = "asymmetric")]
mod asymmetric {
    //! ES256, EdDSA and RS256 through jsonwebtoken's RustCrypto provider.

    use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

    use super::{Key, KeyError, Kind};

    pub(super) struct KeyPair {
        algorithm: Algorithm,
        decoding: DecodingKey,
        encoding: Option<EncodingKey>,
        public: Jwk,
    }

    impl KeyPair {
        pub(super) fn algorithm(&self) -> Algorithm {
            self.algorithm
        }

        pub(super) fn can_sign(&self) -> bool {
            self.encoding.is_some()
        }

        pub(super) fn sign(&self, input: &[u8]) -> Option<String> {
            let encoding = self.encoding.as_ref()?;
            jsonwebtoken::crypto::sign(input, encoding, self.algorithm).ok()
        }

        pub(super) fn verifies(&self, input: &[u8], signature: &str) -> bool {
            matches!(
                jsonwebtoken::crypto::verify(signature, input, &self.decoding, self.algorithm),
                Ok(true)
            )
        }

        pub(super) fn public_jwk(&self, kid: Option<String>) -> Jwk {
            let mut jwk = self.public.clone();
            jwk.common.key_id = kid;
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            jwk.common.key_algorithm = Some(self.algorithm.into());
            jwk
        }
    }

    fn invalid(what: &str) -> impl Fn(jsonwebtoken::errors::Error) -> KeyError + '_ {
        move |err| KeyError(format!("{what}: {err}"))
    }

    fn pair(algorithm: Algorithm, encoding: EncodingKey) -> Result<Key, KeyError> {
        let public = Jwk::from_encoding_key(&encoding, algorithm)
            .map_err(invalid("no public key in the private key"))?;
        let decoding = DecodingKey::from_jwk(&public).map_err(invalid("public key"))?;
        Ok(Key {
            kid: None,
            kind: Kind::Asymmetric(KeyPair {
                algorithm,
                decoding,
                encoding: Some(encoding),
                public,
            }),
        })
    }

    fn public(algorithm: Algorithm, decoding: DecodingKey) -> Result<Key, KeyError> {
        let public =
            Jwk::from_decoding_key(&decoding, Some(algorithm)).map_err(invalid("public key"))?;
        Ok(Key {
            kid: None,
            kind: Kind::Asymmetric(KeyPair {
                algorithm,
                decoding,
                encoding: None,
                public,
            }),
        })
    }

    impl Key {
        /// An ES256 (P-256) key pair from a PKCS#8 PEM private key: signs and verifies.
        pub fn es256_pem(private_pem: &[u8]) -> Result<Self, KeyError> {
            let encoding = EncodingKey::from_ec_pem(private_pem).map_err(invalid("ES256 PEM"))?;
            pair(Algorithm::ES256, encoding)
        }

        /// An EdDSA (Ed25519) key pair from a PKCS#8 v1 PEM private key (as `openssl genpkey
        /// -algorithm ed25519` writes it): signs and verifies.
        pub fn ed25519_pem(private_pem: &[u8]) -> Result<Self, KeyError> {
            let what = "Ed25519 PEM (a PKCS#8 v1 private key, as `openssl genpkey -algorithm \
                        ed25519` writes it)";
            let encoding = EncodingKey::from_ed_pem(private_pem).map_err(invalid(what))?;
            pair(Algorithm::EdDSA, encoding).map_err(|err| KeyError(format!("{what}: {}", err.0)))
        }

        /// An ES256 public key (PEM): verifies only.
        pub fn es256_public_pem(public_pem: &[u8]) -> Result<Self, KeyError> {
            let decoding = DecodingKey::from_ec_pem(public_pem).map_err(invalid("ES256 PEM"))?;
            public(Algorithm::ES256, decoding)
        }

        /// An Ed25519 public key (PEM): verifies only.
        pub fn ed25519_public_pem(public_pem: &[u8]) -> Result<Self, KeyError> {
            let decoding = DecodingKey::from_ed_pem(public_pem).map_err(invalid("Ed25519 PEM"))?;
            public(Algorithm::EdDSA, decoding)
        }

        /// An RS256 public key (PEM): verifies only. RS256 never signs here: the `rsa` crate's
        /// private-key operations are not constant-time (RUSTSEC-2023-0071); sign with ES256 or
        /// EdDSA.
        pub fn rs256_public_pem(public_pem: &[u8]) -> Result<Self, KeyError> {
            let decoding = DecodingKey::from_rsa_pem(public_pem).map_err(invalid("RS256 PEM"))?;
            public(Algorithm::RS256, decoding)
        }

        /// A public key from a JWK (RS256, ES256 or EdDSA): verifies only. Its `kid`, if any,
        /// becomes the key's; its algorithm is the JWK's `alg`, else the one its key type allows.
        pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
            let algorithm = jwk_algorithm(jwk)?;
            let decoding = DecodingKey::from_jwk(jwk).map_err(invalid("JWK"))?;
            let mut key = public(algorithm, decoding)?;
            key.kid = jwk.common.key_id.clone();
            Ok(key)
        }
    }

    /// A JWK's algorithm: its `alg` when given, else the one its key type and curve mean.
    pub(crate) fn jwk_algorithm(jwk: &Jwk) -> Result<Algorithm, KeyError> {
        use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
        let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
            (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(p))
                if p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            (Some(KeyAlgorithm::EdDSA), AlgorithmParameters::OctetKeyPair(p))
                if p.curve == EllipticCurve::Ed25519 =>
            {
                Algorithm::EdDSA
            }
            (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            (None, AlgorithmParameters::OctetKeyPair(p)) if p.curve == EllipticCurve::Ed25519 => {
                Algorithm::EdDSA
            }
            _ => {
                return Err(KeyError(
                    "only RS256, ES256 (P-256) and EdDSA (Ed25519) JWKs are supported, with an \
                     `alg` that matches the key type"
                        .to_owned(),
                ));
            }
        };
        Ok(algorithm)
    }
}
