//! What the benches (and compare/) share: the secret, an in-memory entity, and the routes
//! they time.

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
