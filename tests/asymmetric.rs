//! ES256, EdDSA and RS256 keys (feature `asymmetric`), the JWKS document and route, and
//! algorithm confusion across every key type. Keys are generated per run.

#[allow(dead_code, unreachable_pub)]
#[path = "routes/common.rs"]
mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_router::jwk::{AlgorithmParameters, Jwk};
use jwt_router::testing::token_for;
use jwt_router::{JwtRoutes, Key, Problem};
use p256::ecdsa::signature::Verifier;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rand::rngs::OsRng;
use serde_json::{Value, json};

use common::{Db, User, ada, get};

/// The handlers the key-set tests mount (`taken` below is mounted by its own test only).
mod handlers {
    use jwt_router::{Claims, authed};

    #[authed(GET, "/whoami")]
    async fn whoami(claims: Claims) -> String {
        format!("sub {}", claims.sub)
    }
}

/// A fresh P-256 key: private PKCS#8 PEM, public SPKI PEM.
fn es256_pems() -> (String, String) {
    let key = p256::ecdsa::SigningKey::random(&mut OsRng);
    let private = key.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    (private.to_string(), public)
}

/// A fresh Ed25519 key: private PKCS#8 PEM, public SPKI PEM.
fn ed25519_pems() -> (String, String) {
    let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
    // PKCS#8 v1, as `openssl genpkey -algorithm ed25519` writes it.
    let private = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
    .expect("pem");
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    (private.to_string(), public)
}

/// A fresh 2048-bit RSA key: private PKCS#8 PEM, public SPKI PEM.
fn rsa_pems() -> (String, String) {
    let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA key");
    let private = key.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    (private.to_string(), public)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn claims() -> Value {
    json!({ "sub": "1", "table_name": "users", "iat": now(), "exp": now() + 60 })
}

fn jwt(keys: impl IntoIterator<Item = (Key, bool)>) -> JwtRoutes<Db> {
    let builder = keys.into_iter().fold(
        JwtRoutes::builder()
            .entity::<User>()
            .module(format!("{}::handlers", module_path!())),
        |builder, (key, signs)| {
            if signs {
                builder.signing_key(key)
            } else {
                builder.key(key)
            }
        },
    );
    builder.jwks_route().build().expect("valid configuration")
}

async fn whoami_status(jwt: &JwtRoutes<Db>, token: &str) -> (StatusCode, String) {
    let reply = get(&jwt.router(Db::seeded()), "/whoami", Some(token)).await;
    let body = match reply.body.as_str() {
        Some(text) => text.to_owned(),
        None => reply.error_code().to_owned(),
    };
    (reply.status, body)
}

fn sign(header: Header, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, &claims(), key).expect("signs")
}

fn with_kid(alg: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    header
}

#[tokio::test]
async fn es256_and_eddsa_key_pairs_sign_and_verify_with_their_kid() {
    let (es_private, _) = es256_pems();
    let (ed_private, _) = ed25519_pems();
    for (key, alg) in [
        (Key::es256_pem(es_private.as_bytes()), Algorithm::ES256),
        (Key::ed25519_pem(ed_private.as_bytes()), Algorithm::EdDSA),
    ] {
        let jwt = jwt([(key.expect("a key").with_kid("k1"), true)]);
        let token = token_for(&jwt, &ada());
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!((header.alg, header.kid.as_deref()), (alg, Some("k1")));
        assert_eq!(
            whoami_status(&jwt, &token).await,
            (StatusCode::OK, "sub 1".into())
        );
    }
}

#[tokio::test]
async fn public_keys_verify_tokens_signed_elsewhere_and_sign_nothing() {
    let (es_private, es_public) = es256_pems();
    let (rsa_private, rsa_public) = rsa_pems();
    let es = EncodingKey::from_ec_pem(es_private.as_bytes()).expect("key");
    let rs = EncodingKey::from_rsa_pem(rsa_private.as_bytes()).expect("key");
    let verifier = jwt([
        (
            Key::es256_public_pem(es_public.as_bytes())
                .expect("key")
                .with_kid("es"),
            false,
        ),
        (
            Key::rs256_public_pem(rsa_public.as_bytes())
                .expect("key")
                .with_kid("rs"),
            false,
        ),
    ]);
    for token in [
        sign(with_kid(Algorithm::ES256, "es"), &es),
        sign(with_kid(Algorithm::RS256, "rs"), &rs),
    ] {
        assert_eq!(
            whoami_status(&verifier, &token).await,
            (StatusCode::OK, "sub 1".into())
        );
    }
    assert!(
        verifier.create_token::<User>(&1).is_err(),
        "a public key signed"
    );
    // A public key as the signing key is a startup error, not a failure at the first login.
    let err = JwtRoutes::<Db>::builder()
        .signing_key(Key::rs256_public_pem(rsa_public.as_bytes()).expect("key"))
        .module(module_path!())
        .build()
        .expect_err("a public signing key accepted");
    assert_eq!(
        err.problems(),
        [Problem::SigningKeyCannotSign { kid: None }]
    );
}

#[tokio::test]
async fn algorithm_confusion_is_refused_for_every_key_type() {
    let (es_private, es_public) = es256_pems();
    let (ed_private, ed_public) = ed25519_pems();
    let (rsa_private, rsa_public) = rsa_pems();
    let jwt = jwt([
        (
            Key::es256_pem(es_private.as_bytes())
                .expect("key")
                .with_kid("es"),
            true,
        ),
        (
            Key::ed25519_pem(ed_private.as_bytes())
                .expect("key")
                .with_kid("ed"),
            false,
        ),
        (
            Key::rs256_public_pem(rsa_public.as_bytes())
                .expect("key")
                .with_kid("rs"),
            false,
        ),
        (
            Key::hs256("a shared secret of at least 32 bytes!").with_kid("hs"),
            false,
        ),
    ]);
    // HS256 "signed" with a public key as the HMAC secret, naming that key: the classic
    // confusion. The key's algorithm is pinned, so the header's HS256 is refused.
    for (kid, public) in [("es", &es_public), ("ed", &ed_public), ("rs", &rsa_public)] {
        let forged = sign(
            with_kid(Algorithm::HS256, kid),
            &EncodingKey::from_secret(public.as_bytes()),
        );
        assert_eq!(
            whoami_status(&jwt, &forged).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into()),
            "HS256 with the {kid} public key"
        );
    }
    // A real signature of one key type presented under another key's kid.
    let rs = EncodingKey::from_rsa_pem(rsa_private.as_bytes()).expect("key");
    let es = EncodingKey::from_ec_pem(es_private.as_bytes()).expect("key");
    for (header, key, what) in [
        (
            with_kid(Algorithm::RS256, "es"),
            &rs,
            "RS256 under the ES256 kid",
        ),
        (
            with_kid(Algorithm::ES256, "rs"),
            &es,
            "ES256 under the RS256 kid",
        ),
        (
            with_kid(Algorithm::ES256, "hs"),
            &es,
            "ES256 under the HS256 kid",
        ),
        (
            with_kid(Algorithm::ES256, "ed"),
            &es,
            "ES256 under the EdDSA kid",
        ),
    ] {
        assert_eq!(
            whoami_status(&jwt, &sign(header, key)).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into()),
            "{what}"
        );
    }
    // The right algorithm and kid but another key's signature.
    let (other_private, _) = es256_pems();
    let other = EncodingKey::from_ec_pem(other_private.as_bytes()).expect("key");
    assert_eq!(
        whoami_status(&jwt, &sign(with_kid(Algorithm::ES256, "es"), &other)).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
}

#[tokio::test]
async fn jwks_route_serves_the_public_keys_only_and_verifies_independently() {
    let (es_private, _) = es256_pems();
    let (ed_private, _) = ed25519_pems();
    let (_, others_public) = es256_pems();
    let jwt = jwt([
        (
            Key::es256_public_pem(others_public.as_bytes())
                .expect("key")
                .with_kid("theirs"),
            false,
        ),
        (
            Key::es256_pem(es_private.as_bytes())
                .expect("key")
                .with_kid("es-2026"),
            true,
        ),
        (
            Key::ed25519_pem(ed_private.as_bytes())
                .expect("key")
                .with_kid("ed-old"),
            false,
        ),
        (
            Key::hs256("a shared secret of at least 32 bytes!").with_kid("hs"),
            false,
        ),
    ]);
    let app = jwt.router(Db::seeded());
    let reply = get(&app, "/.well-known/jwks.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "public, max-age=300");
    let text = match &reply.body {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    assert!(
        !text.contains("\"k\""),
        "an HMAC secret was published: {text}"
    );
    assert!(
        !text.contains("\"d\""),
        "a private key was published: {text}"
    );
    let set: jwt_router::jwk::JwkSet = serde_json::from_str(&text).expect("a JWKS");
    let kids: Vec<_> = set
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert_eq!(kids, ["es-2026", "ed-old"]);
    assert_eq!(jwt.jwks(), set);

    // Another library (p256 directly, not jsonwebtoken) verifies our token with the JWKS key.
    let token = token_for(&jwt, &ada());
    let jwk: &Jwk = set.find("es-2026").expect("the signing key");
    let AlgorithmParameters::EllipticCurve(ec) = &jwk.algorithm else {
        panic!("an EC key: {jwk:?}");
    };
    let mut point = vec![0x04];
    point.extend(URL_SAFE_NO_PAD.decode(&ec.x).expect("x"));
    point.extend(URL_SAFE_NO_PAD.decode(&ec.y).expect("y"));
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).expect("a P-256 point");
    let (signed, signature) = token.rsplit_once('.').expect("a JWS");
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).expect("base64url"))
            .expect("r || s");
    assert!(verifying.verify(signed.as_bytes(), &signature).is_ok());
    assert!(verifying.verify(b"something else", &signature).is_err());

    // The route is listed, unprefixed and ignored.
    let table = jwt.route_table().to_string();
    assert!(table.contains("/.well-known/jwks.json  ignored"), "{table}");
}

#[test]
fn jwk_with_an_algorithm_that_does_not_match_its_key_type_is_refused() {
    let (es_private, _) = es256_pems();
    let key = Key::es256_pem(es_private.as_bytes()).expect("key");
    let jwt = jwt([(key.with_kid("es"), true)]);
    let mut jwk = jwt.jwks().keys.remove(0);
    assert!(Key::from_jwk(&jwk).is_ok());
    jwk.common.key_algorithm = Some(jwt_router::jwk::KeyAlgorithm::RS256);
    let err = Key::from_jwk(&jwk).expect_err("RS256 on an EC key accepted");
    assert!(err.to_string().contains("only RS256, ES256"), "{err}");
}

#[test]
fn unreadable_private_keys_are_clear_errors() {
    let v2 = ed25519_dalek::SigningKey::generate(&mut OsRng)
        .to_pkcs8_pem(LineEnding::LF)
        .expect("pem");
    let err = Key::ed25519_pem(v2.as_bytes()).expect_err("a PKCS#8 v2 key accepted");
    assert!(err.to_string().contains("PKCS#8 v1"), "{err}");
    let err =
        Key::es256_pem(b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
            .expect_err("garbage accepted");
    assert!(
        err.to_string().starts_with("invalid key: ES256 PEM"),
        "{err}"
    );
}

mod taken {
    #[jwt_router::ignored(GET, "/.well-known/jwks.json")]
    async fn own_jwks() -> &'static str {
        "{}"
    }
}

#[test]
fn jwks_route_over_a_declared_route_fails_at_startup() {
    let (es_private, _) = es256_pems();
    let err = JwtRoutes::<Db>::builder()
        .signing_key(Key::es256_pem(es_private.as_bytes()).expect("key"))
        .jwks_route()
        .module(format!("{}::taken", module_path!()))
        .build()
        .expect_err("two JWKS routes accepted");
    assert!(
        matches!(
            err.problems(),
            [Problem::DuplicateRoute { second, .. }] if second.handler == "own_jwks"
        ),
        "{err}"
    );
}
