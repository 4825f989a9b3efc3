//! What both benches share.

use jwt_router::{Entity, StoreError};

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
