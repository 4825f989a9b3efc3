//! Property tests: arbitrary bytes never panic and never authenticate, and a token verifies
//! only with its exact bytes. Bounded case counts keep them to seconds in the normal run.

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use jwt_router::{Claims, JwtRoutes, authed};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

use crate::common::{Db, Reply, send};
use crate::support::{HS256_HEADER, b64, jwt_for, now, signed, signed_with};

#[authed(GET, "/prop")]
async fn prop_route(claims: Claims) -> String {
    format!("sub {}", claims.sub)
}

fn jwt(query_token: bool) -> JwtRoutes<Db> {
    jwt_for(module_path!(), query_token)
}

/// Runs `test` over `strategy` with `cases` cases on a current-thread runtime.
fn check<S, F>(cases: u32, strategy: S, test: F)
where
    S: Strategy,
    F: Fn(&tokio::runtime::Runtime, S::Value) -> Result<(), TestCaseError>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(failure) = runner.run(&strategy, |value| test(&runtime, value)) {
        panic!("{failure}");
    }
}

fn refused(reply: &Reply) -> Result<(), TestCaseError> {
    prop_assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    let code = reply.error_code();
    prop_assert!(
        [
            "missing_token",
            "invalid_request",
            "invalid_token",
            "token_expired"
        ]
        .contains(&code),
        "code {}",
        code
    );
    prop_assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        reply.body
    );
    prop_assert!(
        reply
            .headers
            .get(header::WWW_AUTHENTICATE)
            .is_some_and(|v| v.as_bytes().starts_with(b"Bearer")),
        "no challenge"
    );
    Ok(())
}

fn with_authorization(value: HeaderValue) -> Request<Body> {
    Request::builder()
        .uri("/prop")
        .header(header::AUTHORIZATION, value)
        .body(Body::empty())
        .expect("valid request")
}

/// Token-ish strings: dots and base64url characters mixed with anything.
fn tokenish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_=+/.-]{0,200}",
        "eyJ[A-Za-z0-9_-]{0,60}\\.eyJ[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,50}",
    ]
}

#[test]
fn arbitrary_authorization_bytes_never_panic_nor_authenticate() {
    let app = jwt(false).router(Db::seeded());
    let values = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        tokenish().prop_map(|t| format!("Bearer {t}").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|bytes| {
            let mut value = b"Bearer ".to_vec();
            value.extend(bytes);
            value
        }),
    ];
    check(600, values, |runtime, mut bytes| {
        // Bytes a header cannot carry (controls but tab) never reach a server: drop them.
        bytes.retain(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f));
        let value = HeaderValue::from_bytes(&bytes).expect("header-safe bytes");
        refused(&runtime.block_on(send(&app, with_authorization(value))))
    });
}

#[test]
fn arbitrary_strings_never_verify() {
    let jwt = jwt(false);
    check(2000, tokenish(), |_, token| {
        prop_assert!(jwt.verify(&token).is_err(), "{:?} verified", token);
        Ok(())
    });
}

#[test]
fn arbitrary_query_strings_never_authenticate() {
    let app = jwt(true).router(Db::seeded());
    let queries = prop_oneof![
        "[!-~]{0,200}",
        tokenish().prop_map(|t| format!("auth={t}")),
        (tokenish(), tokenish()).prop_map(|(a, b)| format!("auth={a}&auth={b}")),
    ];
    check(600, queries, |runtime, query| {
        let Ok(request) = Request::builder()
            .uri(format!("/prop?{query}"))
            .body(Body::empty())
        else {
            return Ok(());
        };
        refused(&runtime.block_on(send(&app, request)))
    });
}

/// Headers and payloads from a pool holding the parts of two real tokens and junk: a
/// recombination verifies only when all three parts come from the same token.
#[test]
fn only_matching_parts_recombine_into_a_valid_token() {
    let jwt = jwt(false);
    let tokens: Vec<String> = ["1", "2"]
        .iter()
        .map(|sub| {
            let claims = json!({
                "sub": sub, "table_name": "users", "iat": now() - 10, "exp": now() + 3600
            });
            signed(HS256_HEADER, &claims.to_string())
        })
        .collect();
    let parts: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| t.split('.').map(str::to_owned).collect())
        .collect();
    let other_key = signed_with(
        HS256_HEADER,
        &json!({"sub":"1","table_name":"users","iat":now() - 10,"exp":now() + 3600}).to_string(),
        b"another secret of at least 32 bytes!",
    );
    let pool: Vec<String> = parts
        .iter()
        .flatten()
        .cloned()
        .chain(other_key.split('.').map(str::to_owned))
        .chain([
            String::new(),
            b64(r#"{"alg":"none"}"#),
            b64("{}"),
            "AAAA".to_owned(),
        ])
        .collect();
    let pick = || prop::sample::select(pool.clone());
    check(1000, (pick(), pick(), pick()), |_, (h, p, s)| {
        let token = format!("{h}.{p}.{s}");
        let genuine = tokens.contains(&token);
        prop_assert_eq!(jwt.verify(&token).is_ok(), genuine, "{}", token);
        Ok(())
    });
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Insert { at: usize, byte: u8 },
    Delete { at: usize },
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
    match *mutation {
        Mutation::Flip { at, bit } => {
            let at = at % bytes.len();
            bytes[at] ^= 1 << bit;
        }
        Mutation::Insert { at, byte } => bytes.insert(at % (bytes.len() + 1), byte),
        Mutation::Delete { at } => {
            bytes.remove(at % bytes.len());
        }
    }
}

fn mutations() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        (
            any::<usize>(),
            prop::sample::select(b"AQgw.-_=+/ ".to_vec())
        )
            .prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Delete { at }),
    ]
}

#[test]
fn a_token_verifies_only_with_its_exact_bytes() {
    let jwt = jwt(false);
    let app = jwt.router(Db::seeded());
    let cases = (
        any::<u64>(),
        prop::option::of("[ -~]{0,40}"),
        prop::collection::vec(mutations(), 1..4),
    );
    check(1500, cases, |runtime, (id, extra, mutations)| {
        let mut claims = json!({
            "sub": id.to_string(), "table_name": "users", "iat": now() - 10, "exp": now() + 3600
        });
        if let Some(extra) = extra {
            claims["note"] = json!(extra);
        }
        let token = signed(HS256_HEADER, &claims.to_string());
        prop_assert!(jwt.verify(&token).is_ok(), "the unmutated token verifies");
        let mut bytes = token.clone().into_bytes();
        for mutation in &mutations {
            mutate(&mut bytes, mutation);
        }
        if bytes == token.as_bytes() {
            // Mutations that undid each other (insert then delete the same byte).
            return Ok(());
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            prop_assert!(jwt.verify(text).is_err(), "{:?} verified", text);
        }
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(&bytes);
        // RFC 6750 allows more than one space after the scheme: only a prefix of spaces
        // leaves the token itself unchanged.
        let leading_spaces = bytes.iter().take_while(|&&b| b == b' ').count();
        if let Ok(value) = HeaderValue::from_bytes(&value)
            && bytes[leading_spaces..] != *token.as_bytes()
        {
            refused(&runtime.block_on(send(&app, with_authorization(value))))?;
        }
        Ok(())
    });
}
