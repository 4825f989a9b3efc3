//! `JwtRoutes::verify` on arbitrary strings and on edited valid tokens: never panics, and
//! accepts only the exact bytes of a valid token.

#![no_main]

use jwt_router_fuzz::{Edit, apply, jwt, valid_tokens};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Input {
    /// Any string at all.
    Raw(String),
    /// A valid token with byte edits.
    Edited { token: u8, edits: Vec<Edit> },
    /// Segments recombined from the valid tokens and junk.
    Recombined { parts: [(u8, u8); 3], junk: String },
}

fuzz_target!(|input: Input| {
    let tokens = valid_tokens();
    let candidate: Vec<u8> = match &input {
        Input::Raw(text) => text.clone().into_bytes(),
        Input::Edited { token, edits } => {
            let mut bytes = tokens[usize::from(*token) % tokens.len()]
                .clone()
                .into_bytes();
            apply(&mut bytes, edits);
            bytes
        }
        Input::Recombined { parts, junk } => {
            let segment = |(token, part): (u8, u8)| -> String {
                let token = &tokens[usize::from(token) % tokens.len()];
                match part % 4 {
                    3 => junk.clone(),
                    part => token
                        .split('.')
                        .nth(usize::from(part))
                        .unwrap_or("")
                        .to_owned(),
                }
            };
            format!(
                "{}.{}.{}",
                segment(parts[0]),
                segment(parts[1]),
                segment(parts[2])
            )
            .into_bytes()
        }
    };
    let Ok(text) = std::str::from_utf8(&candidate) else {
        return;
    };
    let genuine = tokens.iter().any(|t| t == text);
    let verified = jwt().verify(text);
    assert_eq!(verified.is_ok(), genuine, "{text:?}: {verified:?}");
});
