//! A JWKS document into the keys this verifier will use, by `kid`.

use std::collections::{HashMap, HashSet};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::IssuerError;

/// One verification key and the only algorithm it verifies.
pub(super) struct Key {
    pub(super) alg: Algorithm,
    pub(super) key: DecodingKey,
}

/// The usable keys of one JWKS answer, by `kid`.
#[derive(Default)]
pub(super) struct KeySet(HashMap<String, Key>);

impl KeySet {
    pub(super) fn get(&self, kid: &str) -> Option<&Key> {
        self.0.get(kid)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// The keys of `body` that have a `kid`, are for signatures, and have an algorithm in
    /// `allowed`; the others are skipped (a provider may publish encryption keys or newer key
    /// types). A repeated `kid` refuses the whole set: which key it means would be a guess.
    pub(super) fn parse(
        body: &[u8],
        url: &str,
        allowed: &[Algorithm],
    ) -> Result<Self, IssuerError> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<Value>,
        }
        let document: Document =
            serde_json::from_slice(body).map_err(|err| IssuerError::BadJson {
                url: url.to_owned(),
                reason: err.to_string(),
            })?;
        let mut kids = HashSet::new();
        for kid in document
            .keys
            .iter()
            .filter_map(|key| key.get("kid")?.as_str())
        {
            if !kids.insert(kid) {
                return Err(IssuerError::DuplicateKid {
                    kid: kid.to_owned(),
                });
            }
        }
        let keys: HashMap<_, _> = document
            .keys
            .into_iter()
            .filter_map(|key| usable(key, allowed))
            .collect();
        if keys.is_empty() {
            return Err(IssuerError::NoUsableKeys {
                url: url.to_owned(),
            });
        }
        Ok(Self(keys))
    }
}

/// `key` as a `(kid, Key)` if this verifier can and may use it.
fn usable(key: Value, allowed: &[Algorithm]) -> Option<(String, Key)> {
    let jwk: Jwk = serde_json::from_value(key).ok()?;
    let kid = jwk.common.key_id.clone()?;
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|used| *used != PublicKeyUse::Signature)
    {
        return None;
    }
    if jwk
        .common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let alg = algorithm(&jwk)?;
    if !allowed.contains(&alg) {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, Key { alg, key }))
}

/// The key's algorithm: its `alg` when it names one, which must fit the key's type and curve;
/// otherwise the one algorithm this verifier supports for that type and curve.
fn algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(by_type),
        Some(named) => Algorithm::try_from(named)
            .ok()
            .filter(|named| *named == by_type),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ALL: &[Algorithm] = &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];
    // A P-256 public point and an Ed25519 public key (RFC 8037 A.2), base64url.
    const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn ec(extra: Value) -> Value {
        let mut key = json!({"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y});
        key.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        key
    }

    fn parse(keys: Vec<Value>) -> Result<KeySet, IssuerError> {
        let body = serde_json::to_vec(&json!({ "keys": keys })).expect("serializes");
        KeySet::parse(&body, "https://issuer.test/jwks", ALL)
    }

    #[test]
    fn algorithm_comes_from_the_key_not_a_guess() {
        let set = parse(vec![
            ec(json!({"kid": "ec"})),
            json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "ed", "alg": "EdDSA"}),
        ])
        .expect("usable");
        assert_eq!(set.get("ec").map(|k| k.alg), Some(Algorithm::ES256));
        assert_eq!(set.get("ed").map(|k| k.alg), Some(Algorithm::EdDSA));
    }

    #[test]
    fn unusable_keys_are_skipped() {
        let set = parse(vec![
            ec(json!({"kid": "good", "use": "sig"})),
            ec(json!({})),
            ec(json!({"kid": "enc", "use": "enc"})),
            ec(json!({"kid": "ops", "key_ops": ["encrypt"]})),
            ec(json!({"kid": "mislabelled", "alg": "RS256"})),
            ec(json!({"kid": "p384", "alg": "ES384"})),
            json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"}),
            json!({"kty": "future", "kid": "new"}),
        ])
        .expect("one usable key");
        assert_eq!(set.len(), 1);
        assert!(set.get("good").is_some());
    }

    #[test]
    fn disallowed_algorithms_are_skipped() {
        let body =
            serde_json::to_vec(&json!({ "keys": [ec(json!({"kid": "ec"}))] })).expect("serializes");
        assert!(matches!(
            KeySet::parse(&body, "u", &[Algorithm::RS256]),
            Err(IssuerError::NoUsableKeys { .. })
        ));
    }

    #[test]
    fn a_duplicate_kid_refuses_the_set() {
        let err = parse(vec![
            ec(json!({"kid": "a"})),
            ec(json!({"kid": "a", "use": "enc"})),
        ]);
        assert!(matches!(err, Err(IssuerError::DuplicateKid { kid }) if kid == "a"));
    }

    #[test]
    fn not_a_key_set_is_bad_json() {
        for body in [&b"{}"[..], b"[]", b"{\"keys\": 1}", b"\xff"] {
            assert!(matches!(
                KeySet::parse(body, "u", ALL),
                Err(IssuerError::BadJson { .. })
            ));
        }
    }
}
