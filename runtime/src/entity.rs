//! Entities (users, teachers, ...): the trait, loading one by the token's id, and injection.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::context::Context;
use crate::error::AuthError;
use crate::token::Claims;

/// A kind of authenticated caller: a row type of the application (users, teachers, ...).
///
/// A token names its entity by table name and id (`table_name` and `sub` claims). A handler
/// declared with `entity = "users"` receives the loaded `User` as its first parameter.
///
/// ```
/// # extern crate jwt_router_runtime as jwt_router;
/// use jwt_router::{Entity, StoreError};
///
/// #[derive(Clone)]
/// struct Db; // your pool or repository; reached from the app state by axum's `FromRef`
///
/// struct User { id: i64, name: String }
///
/// impl Entity for User {
///     const TABLE_NAME: &'static str = "users";
///     type Id = i64;
///     type Store = Db;
///
///     fn id(&self) -> i64 { self.id }
///
///     async fn load(_db: &Db, id: &i64) -> Result<Option<Self>, StoreError> {
///         Ok(Some(User { id: *id, name: "Ada".into() })) // a query in a real app
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a jwt-router entity",
    label = "the entity parameter's type must implement `jwt_router::Entity`",
    note = "implement it: `impl jwt_router::Entity for {Self} {{ const TABLE_NAME: &'static str = \"users\"; type Id = i64; type Store = Db; fn id(&self) -> i64 {{ .. }} async fn load(db: &Db, id: &i64) -> Result<Option<Self>, jwt_router::StoreError> {{ .. }} }}`"
)]
pub trait Entity: Sized + Send + Sync + 'static {
    /// The table name tokens carry in `table_name` and routes name in `entity = "..."`.
    const TABLE_NAME: &'static str;
    /// The id type; tokens carry it as a string in `sub`.
    type Id: FromStr + Display + Send + Sync + 'static;
    /// What [`Entity::load`] reads from, reached from the router's state by axum's `FromRef`.
    type Store: Clone + Send + Sync + 'static;

    /// This entity's id, to mint tokens for it.
    fn id(&self) -> Self::Id;

    /// Loads the entity with `id`: `Ok(None)` if it does not exist (the request gets 401),
    /// `Err` if the store failed (503).
    fn load(
        store: &Self::Store,
        id: &Self::Id,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send;

    /// Whether this entity may still authenticate; `false` refuses its tokens with 403.
    fn is_active(&self) -> bool {
        true
    }

    /// Loads the entity that an external issuer's token names by one of its claims rather than
    /// by id, e.g. `claim` = `"email"` (see `JwtRoutesBuilder::issuer`): `Ok(None)` if none
    /// has that value. Compare emails case-insensitively. The default finds none, so only
    /// entities that implement it can be reached this way.
    fn load_by_claim(
        _store: &Self::Store,
        _claim: &str,
        _value: &str,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send {
        std::future::ready(Ok(None))
    }

    /// The roles minted into this entity's tokens by
    /// [`create_token_for`](crate::Tokens::create_token_for) (claim `roles`): a route declared
    /// with `roles = ["admin"]` admits a token holding any of its roles. None by default.
    fn roles(&self) -> Vec<String> {
        Vec::new()
    }

    /// The scopes minted into this entity's tokens by
    /// [`create_token_for`](crate::Tokens::create_token_for) (claim `scope`, space-separated):
    /// a route declared with `scopes = ["books:write"]` admits a token holding all of its
    /// scopes. None by default; a scope may not be empty or hold a space.
    fn scopes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The error an entity store returns from [`Entity::load`]; the request gets a 503.
#[derive(Debug)]
pub struct StoreError(Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    /// Wraps the store's own error.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(source.into())
    }
}

impl Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entity store error: {}", self.0)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Extractor of the caller's entity, for handlers written without the macros:
/// `async fn me(Authed(user): Authed<User>) -> ...`. Checks the token's table against
/// `E::TABLE_NAME` (403), loads the entity (401 if gone, 503 if the store fails).
///
/// `Option<Authed<User>>` on a public route is optional authentication: `None` without a
/// token, the entity with a valid one, and the same refusals as above for a bad token or
/// another entity's.
#[derive(Debug, Clone)]
pub struct Authed<E>(pub E);

impl<S, E> FromRequestParts<S> for Authed<E>
where
    S: Send + Sync,
    E: Entity,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match load_caller::<E>(parts).await? {
            Some(entity) => Ok(Authed(entity)),
            None => {
                let ctx = Context::of(parts).map_err(IntoResponse::into_response)?;
                Err(ctx.respond(&AuthError::MissingToken))
            }
        }
    }
}

impl<S, E> OptionalFromRequestParts<S> for Authed<E>
where
    S: Send + Sync,
    E: Entity,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(load_caller::<E>(parts).await?.map(Authed))
    }
}

/// The caller's entity of type `E`, `None` if the request carries no token.
async fn load_caller<E: Entity>(parts: &mut Parts) -> Result<Option<E>, Response> {
    let ctx = Context::of(parts).map_err(IntoResponse::into_response)?;
    let Some(claims) = ctx.caller(parts).await.map_err(|err| ctx.respond(&err))? else {
        return Ok(None);
    };
    ctx.entities
        .load::<E>(&claims)
        .await
        .map(Some)
        .map_err(|err| ctx.respond(&err))
}

type Loaded = Result<Box<dyn Any + Send>, AuthError>;
/// Loads by the token's `sub`: the entity's id, or with a claim name the value of that claim
/// (an external issuer's token mapped by email, say).
type Loader = Box<dyn Fn(Option<&'static str>, &str) -> BoxFuture<'static, Loaded> + Send + Sync>;

/// An entity type registered with the builder, not yet tied to a state value.
pub(crate) struct EntityReg<S> {
    pub(crate) table: &'static str,
    pub(crate) type_name: &'static str,
    type_id: TypeId,
    make_loader: fn(&S) -> Loader,
}

impl<S> EntityReg<S> {
    pub(crate) fn of<E: Entity>() -> Self
    where
        E::Store: FromRef<S>,
    {
        Self {
            table: E::TABLE_NAME,
            type_name: std::any::type_name::<E>(),
            type_id: TypeId::of::<E>(),
            make_loader: loader_for::<E, S>,
        }
    }
}

fn loader_for<E: Entity, S>(state: &S) -> Loader
where
    E::Store: FromRef<S>,
{
    let store = E::Store::from_ref(state);
    Box::new(move |lookup, sub| {
        let store = store.clone();
        let sub = sub.to_owned();
        Box::pin(async move {
            // A panicking store must not take the connection down with it.
            let loaded = match lookup {
                None => {
                    let id = sub.parse::<E::Id>().map_err(|_| {
                        AuthError::InvalidToken("the token's subject is not a valid id")
                    })?;
                    AssertUnwindSafe(E::load(&store, &id)).catch_unwind().await
                }
                Some(claim) => {
                    AssertUnwindSafe(E::load_by_claim(&store, claim, &sub))
                        .catch_unwind()
                        .await
                }
            };
            let Ok(loaded) = loaded else {
                tracing::error!(table = E::TABLE_NAME, "entity store panicked");
                return Err(AuthError::StorePanicked);
            };
            match loaded {
                Err(err) => {
                    tracing::warn!(table = E::TABLE_NAME, error = %err, "entity store failed");
                    Err(AuthError::StoreUnavailable)
                }
                Ok(None) => Err(AuthError::EntityNotFound),
                Ok(Some(entity)) if !entity.is_active() => Err(AuthError::AccountDisabled),
                Ok(Some(entity)) => Ok(Box::new(entity) as Box<dyn Any + Send>),
            }
        })
    })
}

/// The loaders of every registered entity, bound to the router's state.
pub(crate) struct Entities(HashMap<&'static str, (TypeId, Loader)>);

impl Entities {
    pub(crate) fn bind<S>(regs: &[EntityReg<S>], state: &S) -> Self {
        Self(
            regs.iter()
                .map(|reg| (reg.table, (reg.type_id, (reg.make_loader)(state))))
                .collect(),
        )
    }

    /// The caller's entity of type `E`, loaded by the claims' id.
    pub(crate) async fn load<E: Entity>(&self, claims: &Claims) -> Result<E, AuthError> {
        if claims.table_name != E::TABLE_NAME {
            return Err(AuthError::WrongEntity {
                expected: E::TABLE_NAME,
                found: claims.table_name.clone(),
            });
        }
        let Some((type_id, loader)) = self.0.get(E::TABLE_NAME) else {
            return Err(crate::token::unregistered::<E>());
        };
        if *type_id != TypeId::of::<E>() {
            return Err(AuthError::Misconfigured(
                "another type is registered for this entity's table",
            ));
        }
        let entity = loader(claims.lookup(), &claims.sub).await?;
        entity
            .downcast::<E>()
            .map(|entity| *entity)
            .map_err(|_| AuthError::Misconfigured("the entity loader returned another type"))
    }
}
