//! `JwtRoutes::verify` per algorithm, side by side: `cargo bench --bench verify --features
//! asymmetric`. Keys are generated per run; RS256 is verify-only here, so its tokens are signed
//! with jsonwebtoken.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_router::{JwtRoutes, Key};

mod common;
use common::User;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rand::rngs::OsRng;
use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

fn routes(key: Key) -> JwtRoutes<()> {
    JwtRoutes::builder()
        .signing_key(key)
        .entity::<User>()
        .module("no handlers")
        .build()
        .expect("valid configuration")
}

/// (name, the routes that verify, a valid token).
fn cases() -> Vec<(&'static str, JwtRoutes<()>, String)> {
    let mint = |jwt: JwtRoutes<()>| {
        let token = jwt.create_token::<User>(&1).expect("signs");
        (jwt, token)
    };
    let es = p256::ecdsa::SigningKey::random(&mut OsRng)
        .to_pkcs8_pem(LineEnding::LF)
        .expect("pem");
    let ed = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: ed25519_dalek::SigningKey::generate(&mut OsRng).to_bytes(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
    .expect("pem");
    let rsa = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA key");
    let rsa_public = rsa
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let rsa_private = rsa.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let rs_token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &serde_json::json!({ "sub": "1", "table_name": "users", "iat": now, "exp": now + 3600 }),
        &EncodingKey::from_rsa_pem(rsa_private.as_bytes()).expect("key"),
    )
    .expect("signs");
    let rs_routes = JwtRoutes::builder()
        .key(Key::rs256_public_pem(rsa_public.as_bytes()).expect("key"))
        .entity::<User>()
        .module("no handlers")
        .build()
        .expect("valid configuration");
    let secret = "a benchmark secret of at least sixty-four bytes, for every HMAC size.";
    let mut cases = Vec::new();
    for (name, key) in [
        ("HS256", Key::hs256(secret)),
        ("HS384", Key::hs384(secret)),
        ("HS512", Key::hs512(secret)),
        ("ES256", Key::es256_pem(es.as_bytes()).expect("key")),
        ("EdDSA", Key::ed25519_pem(ed.as_bytes()).expect("key")),
    ] {
        let (jwt, token) = mint(routes(key));
        cases.push((name, jwt, token));
    }
    cases.push(("RS256", rs_routes, rs_token));
    cases
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for (name, jwt, token) in cases() {
        assert!(jwt.verify(&token).is_ok(), "{name} token verifies");
        group.bench_with_input(BenchmarkId::from_parameter(name), &token, |b, token| {
            b.iter(|| jwt.verify(black_box(token)))
        });
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
