//! Entities and state shared by the UI tests (`#[path = "common/mod.rs"] mod common;`).
#![allow(dead_code)]

use jwt_router::{Entity, StoreError};

/// The entity store; also the router state of most tests.
#[derive(Clone, Default)]
pub struct Db;

pub struct User {
    pub id: i64,
}

impl Entity for User {
    const TABLE_NAME: &'static str = "users";
    type Id = i64;
    type Store = Db;

    fn id(&self) -> i64 {
        self.id
    }

    async fn load(_: &Db, id: &i64) -> Result<Option<Self>, StoreError> {
        Ok(Some(User { id: *id }))
    }
}

pub struct Teacher {
    pub id: i64,
}

impl Entity for Teacher {
    const TABLE_NAME: &'static str = "teachers";
    type Id = i64;
    type Store = Db;

    fn id(&self) -> i64 {
        self.id
    }

    async fn load(_: &Db, id: &i64) -> Result<Option<Self>, StoreError> {
        Ok(Some(Teacher { id: *id }))
    }
}

/// A type that does not implement `Entity`.
pub struct Profile;
