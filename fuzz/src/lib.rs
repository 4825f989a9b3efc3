//! Shared by the fuzz targets: the server's secret, deterministic valid tokens, byte edits, and
//! an independent oracle of what a verified token must satisfy.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_router::JwtRoutes;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Value, json};

pub const SECRET: &str = "fuzzing-secret-0123456789abcdef-0123456789";

/// The entity tables tokens may name: the guard refuses any other `table_name`.
pub const TABLES: [&str; 2] = ["users", "teachers"];

macro_rules! entity {
    ($name:ident, $table:literal) => {
        /// An entity that exists for every id.
        pub struct $name(String);

        impl jwt_router::Entity for $name {
            const TABLE_NAME: &'static str = $table;
            type Id = String;
            type Store = ();

            fn id(&self) -> String {
                self.0.clone()
            }

            async fn load(_: &(), id: &String) -> Result<Option<Self>, jwt_router::StoreError> {
                Ok(Some($name(id.clone())))
            }
        }
    };
}

entity!(User, "users");
entity!(Teacher, "teachers");

/// The verifier under test (default limits: 4096 bytes, no leeway).
pub fn jwt() -> &'static JwtRoutes<()> {
    static JWT: OnceLock<JwtRoutes<()>> = OnceLock::new();
    JWT.get_or_init(|| {
        JwtRoutes::builder()
            .secret(SECRET)
            .entity::<User>()
            .entity::<Teacher>()
            .module("jwt_router_fuzz::no_routes")
            .build()
            .expect("valid configuration")
    })
}

/// Valid tokens with fixed claims (expiring in 2096), so the fuzzer can start from them.
pub fn valid_tokens() -> &'static [String] {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        let mut with_kid = Header::new(Algorithm::HS256);
        with_kid.kid = Some("k1".to_owned());
        let (iat, exp) = (1_700_000_000u64, 4_000_000_000u64);
        [
            (
                Header::new(Algorithm::HS256),
                json!({ "sub": "1", "table_name": "users", "iat": iat, "exp": exp }),
            ),
            (
                Header::new(Algorithm::HS256),
                json!({ "sub": "2", "table_name": "teachers", "iat": iat, "exp": exp, "nbf": iat }),
            ),
            (
                with_kid,
                json!({ "sub": "x", "table_name": "users", "iat": 0, "exp": exp, "note": "extra" }),
            ),
        ]
        .iter()
        .map(|(header, claims)| jsonwebtoken::encode(header, claims, &key).expect("signs"))
        .collect()
    })
}

/// One byte edit of a token.
#[derive(Debug, Arbitrary)]
pub enum Edit {
    Flip { at: u16, bit: u8 },
    Set { at: u16, byte: u8 },
    Insert { at: u16, byte: u8 },
    Delete { at: u16 },
    Truncate { at: u16 },
}

/// Applies `edits` to `bytes` (positions wrap around).
pub fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        let len = bytes.len();
        match *edit {
            Edit::Flip { at, bit } if len > 0 => bytes[usize::from(at) % len] ^= 1 << (bit % 8),
            Edit::Set { at, byte } if len > 0 => bytes[usize::from(at) % len] = byte,
            Edit::Insert { at, byte } => bytes.insert(usize::from(at) % (len + 1), byte),
            Edit::Delete { at } if len > 0 => {
                bytes.remove(usize::from(at) % len);
            }
            Edit::Truncate { at } => bytes.truncate(usize::from(at) % (len + 1)),
            _ => {}
        }
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A JSON object: the fields a verifier reads, and the top-level keys that occur more than
/// once (serde_json's `Value` would keep the last silently).
pub struct CountedObject {
    pub fields: BTreeMap<String, Value>,
    pub duplicates: Vec<String>,
}

impl<'de> Deserialize<'de> for CountedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Counting;
        impl<'de> Visitor<'de> for Counting {
            type Value = CountedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CountedObject, A::Error> {
                let mut object = CountedObject {
                    fields: BTreeMap::new(),
                    duplicates: Vec::new(),
                };
                let mut seen = std::collections::BTreeSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    // Values of fields nobody reads are skipped as serde's derive skips them
                    // (e.g. a number beyond f64 that `Value` would refuse).
                    if HEADER_FIELDS.contains(&key.as_str()) || CLAIMS_READ.contains(&key.as_str())
                    {
                        let value = map.next_value::<Value>()?;
                        object.fields.insert(key.clone(), value);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                    if !seen.insert(key.clone()) {
                        object.duplicates.push(key);
                    }
                }
                Ok(object)
            }
        }
        deserializer.deserialize_map(Counting)
    }
}

/// Header fields whose meaning a verifier depends on: none may be ambiguous.
const HEADER_FIELDS: [&str; 8] = ["alg", "typ", "crit", "jku", "jwk", "x5u", "x5c", "kid"];
/// Claims jwt-router reads: none may be ambiguous. (Duplicates of claims nobody reads are
/// accepted, as serde's derive ignores unknown fields entirely.)
const CLAIMS_READ: [&str; 5] = ["sub", "table_name", "iat", "exp", "nbf"];

fn absent(object: &BTreeMap<String, Value>, key: &str) -> bool {
    object.get(key).is_none_or(Value::is_null)
}

/// Why a token that jwt-router *accepted* should have been refused, judged from its raw
/// header and claims texts with rules written independently of the library: `None` if the
/// acceptance is right. `now` is read after verification.
pub fn acceptance_violation(
    header: &[u8],
    claims: &[u8],
    token_len: usize,
    now: u64,
) -> Option<String> {
    if token_len > 4096 {
        return Some(format!("{token_len} bytes accepted (limit 4096)"));
    }
    let Ok(header) = serde_json::from_slice::<CountedObject>(header) else {
        return Some("header is not a JSON object".into());
    };
    let Ok(claims) = serde_json::from_slice::<CountedObject>(claims) else {
        return Some("claims are not a JSON object".into());
    };
    if let Some(key) = header
        .duplicates
        .iter()
        .find(|k| HEADER_FIELDS.contains(&k.as_str()))
    {
        return Some(format!("header field {key} twice"));
    }
    if let Some(key) = claims
        .duplicates
        .iter()
        .find(|k| CLAIMS_READ.contains(&k.as_str()))
    {
        return Some(format!("claim {key} twice"));
    }
    let (header, claims) = (header.fields, claims.fields);
    if header.get("alg") != Some(&json!("HS256")) {
        return Some(format!("alg {:?}", header.get("alg")));
    }
    for key in ["jku", "jwk", "x5u", "x5c", "crit"] {
        if !absent(&header, key) {
            return Some(format!("header carries {key}"));
        }
    }
    match header.get("typ") {
        None | Some(Value::Null) => {}
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
        Some(other) => return Some(format!("typ {other}")),
    }
    if !claims.get("sub").is_some_and(Value::is_string) {
        return Some("sub is not a string".into());
    }
    if !claims
        .get("table_name")
        .and_then(Value::as_str)
        .is_some_and(|table| TABLES.contains(&table))
    {
        return Some("table_name is not a registered entity's table".into());
    }
    let Some(exp) = claims.get("exp").and_then(Value::as_u64) else {
        return Some("exp is not an unsigned integer".into());
    };
    // The server read its clock before we did: exp <= now - 1 would already be expired then.
    if exp < now {
        return Some(format!("expired: exp {exp}, now {now}"));
    }
    let Some(iat) = claims.get("iat").and_then(Value::as_u64) else {
        return Some("iat is not an unsigned integer".into());
    };
    if iat > now {
        return Some(format!("iat {iat} in the future (now {now})"));
    }
    if !absent(&claims, "nbf") {
        match claims.get("nbf").and_then(Value::as_u64) {
            Some(nbf) if nbf <= now => {}
            other => return Some(format!("nbf {other:?} (now {now})")),
        }
    }
    None
}
