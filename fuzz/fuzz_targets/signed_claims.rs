//! Header and claims bytes of the fuzzer's choosing, signed with the server's real secret, so
//! every check after the signature is reached: whatever jwt-router accepts must pass an
//! independent reading of the rules (alg HS256, no key-locating or crit headers, typ JWT,
//! no duplicate keys, typed sub/table_name/iat/exp/nbf, times against the clock, size cap).
//!
//! Input: header bytes, a 0x00 byte, claims bytes.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_router_fuzz::{SECRET, acceptance_violation, jwt, now};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (header, claims) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&br#"{"alg":"HS256","typ":"JWT"}"#[..], data),
    };
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).expect("HMAC signs");
    let token = format!("{input}.{signature}");
    if let Ok(verified) = jwt().verify(&token)
        && let Some(why) = acceptance_violation(header, claims, token.len(), now())
    {
        panic!(
            "accepted but {why}\nheader {:?}\nclaims {:?}\n=> {verified:?}",
            String::from_utf8_lossy(header),
            String::from_utf8_lossy(claims)
        );
    }
});
