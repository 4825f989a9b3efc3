//! What the benches (and compare/) share: the secret, an in-memory entity, and the routes
//! they time.

use std::time::{SystemTime, UNIX_EPOCH};

use jwt_router::{Entity, StoreError, authed, public};

// The verify bench signs with secrets long enough for every HMAC size instead.
#[allow(dead_code)]
pub const SECRET: &str = "a benchmark secret of at least thirty-two bytes";

#[authed(GET, "/x")]
async fn guarded() -> &'static str {
    "x"
}

#[authed(GET, "/me", entity = "users")]
async fn me(_user: User) -> &'static str {
    "x"
}

#[public(GET, "/p")]
async fn open() -> &'static str {
    "x"
}

/// An entity loaded from memory: what the entity injection costs without a database.
pub struct User;

impl Entity for User {
    const TABLE_NAME: &'static str = "users";
    type Id = u64;
    type Store = ();

    fn id(&self) -> u64 {
        1
    }

    async fn load(_: &(), _: &u64) -> Result<Option<Self>, StoreError> {
        Ok(Some(User))
    }
}

/// A token for `users` 1 that expired ten seconds ago, signed with [`SECRET`]: the refusal
/// the guard bench and compare/ time.
#[allow(dead_code)] // the verify and sessions benches time valid tokens only
pub fn expired_token() -> String {
    #[derive(serde::Serialize)]
    struct Expired {
        sub: &'static str,
        table_name: &'static str,
        iat: u64,
        exp: u64,
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = Expired {
        sub: "1",
        table_name: "users",
        iat: now - 100,
        exp: now - 10,
    };
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("signs")
}
