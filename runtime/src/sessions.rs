//! Sessions: refresh tokens rotated on every use with reuse detection, and revocation (one
//! token, a login's family of tokens, every token of an entity), kept in a [`SessionStore`].
//!
//! A login mints a pair ([`Tokens::create_pair_for`](crate::Tokens::create_pair_for)): a
//! short-lived access token and a refresh token, both of one *family* (the `fam` claim). A
//! refresh spends its refresh token and answers a new pair of the same family; a spent refresh
//! token presented again means two parties hold it, so the whole family is revoked (theft
//! detection, as OAuth 2.0 Security BCP §4.14 describes). Access tokens stay stateless but for
//! one store question per request: is this token, its family or its entity revoked?
//!
//! The store fails closed: when it can't answer, refresh and every authed request are refused
//! with 503 `store_unavailable` rather than served on an unchecked token.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::entity::StoreError;
use crate::token::now;

/// What a [`SessionStore`]'s operations return: boxed, so the store is chosen at startup.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The session store's failure, as the client sees it: 503, never an unchecked token.
pub(crate) fn store_failed(err: StoreError) -> crate::AuthError {
    tracing::error!(error = %err, "jwt-router: the session store failed");
    crate::AuthError::StoreUnavailable
}

/// Whether a refresh token was spent by this call or before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// First use: the caller may mint the next pair.
    First,
    /// Spent already: the token is being replayed.
    Again,
}

/// Something to revoke, remembered until `until` (seconds since the Unix epoch), when every
/// token it concerns has expired anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation<'a> {
    /// One token, by its `jti`.
    Token {
        /// The token's `jti`.
        jti: &'a str,
        /// The token's `exp`.
        until: u64,
    },
    /// Every token of a login, by its family (`fam`).
    Family {
        /// The family id.
        family: &'a str,
        /// When the family's last refresh token expires.
        until: u64,
    },
    /// Every token of an entity issued at or before `before_us` (microseconds since the Unix
    /// epoch): "log out everywhere".
    Entity {
        /// The entity's table.
        table: &'a str,
        /// The entity's id (`sub`).
        sub: &'a str,
        /// Tokens issued at or before this instant are revoked.
        before_us: u64,
        /// When the last token issued before then expires.
        until: u64,
    },
}

/// The facts of a token a revocation check needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented<'a> {
    /// The token's `jti`, if it has one (tokens minted before sessions existed may not).
    pub jti: Option<&'a str>,
    /// The token's family, if it came from a pair.
    pub family: Option<&'a str>,
    /// The entity's table.
    pub table: &'a str,
    /// The entity's id (`sub`).
    pub sub: &'a str,
    /// When the token's session began, in microseconds since the Unix epoch: the token's own
    /// issue time, or for a token minted by a refresh or a renewal, its login's. "Log out
    /// everywhere" refuses every token whose session began at or before its instant.
    pub issued_us: u64,
}

/// Where refresh families and revocations live. [`MemorySessions`] keeps them in this process;
/// a shared store (Redis) lets several replicas act as one. Each method is one round trip.
///
/// An error means the store could not answer; jwt-router then refuses (503), never admits.
pub trait SessionStore: Send + Sync + 'static {
    /// Marks the refresh token `jti` spent, atomically: of concurrent calls for one `jti`,
    /// exactly one gets [`Spend::First`]. Remembered until `until` (the token's `exp`).
    fn spend<'a>(&'a self, jti: &'a str, until: u64) -> StoreFuture<'a, Spend>;

    /// Records a revocation.
    fn revoke<'a>(&'a self, revocation: Revocation<'a>) -> StoreFuture<'a, ()>;

    /// Whether the token, its family or its entity (issued at or before a "log out everywhere")
    /// is revoked: checked on every authed request, so in one round trip.
    fn is_revoked<'a>(&'a self, token: Presented<'a>) -> StoreFuture<'a, bool>;

    /// Counts one attempt (a login, say) for `key` in a fixed window of `window` that the
    /// key's first attempt opens, atomically: concurrent attempts are all counted. Answers the
    /// window's count, this attempt included, and the time until it closes. For login
    /// throttling shared by every replica.
    fn attempt<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Attempts>;

    /// Takes back one attempt of `key`'s open window (one that turned out not to be a failure).
    fn forgive<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
}

/// A window of attempts, as [`SessionStore::attempt`] counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    /// Attempts in the window, the one just counted included.
    pub count: u64,
    /// Until the window closes and counting starts over.
    pub resets_in: Duration,
}

/// Revocations and spent refresh tokens in this process's memory: for a single process (for
/// several replicas, use a shared store).
///
/// Bounded: it holds at most `capacity` entries; entries leave when the tokens they concern
/// expire. When full of live entries, new revocations and refreshes fail (503) instead of
/// evicting one: an attacker who could fill it must not be able to un-revoke a token.
pub struct MemorySessions {
    state: Mutex<Entries>,
    capacity: usize,
}

#[derive(Default)]
struct Entries {
    /// Spent refresh tokens and revoked tokens, by `jti`, until when.
    spent: HashMap<String, u64>,
    tokens: HashMap<String, u64>,
    families: HashMap<String, u64>,
    /// table -> sub -> (before_us, until); nested so the per-request lookup borrows the
    /// token's strings instead of building a key.
    entities: HashMap<String, HashMap<String, (u64, u64)>>,
    /// Attempt windows: count, and when the window closes.
    attempts: HashMap<String, (u64, Instant)>,
}

impl Entries {
    fn len(&self) -> usize {
        self.spent.len()
            + self.tokens.len()
            + self.families.len()
            + self.entities.values().map(HashMap::len).sum::<usize>()
            + self.attempts.len()
    }

    fn purge(&mut self, now: u64) {
        self.spent.retain(|_, until| *until >= now);
        self.tokens.retain(|_, until| *until >= now);
        self.families.retain(|_, until| *until >= now);
        self.entities.retain(|_, subs| {
            subs.retain(|_, (_, until)| *until >= now);
            !subs.is_empty()
        });
        let now = Instant::now();
        self.attempts.retain(|_, (_, closes)| *closes > now);
    }
}

impl MemorySessions {
    /// A store of at most one million entries.
    pub fn new() -> Self {
        Self::with_capacity(1_000_000)
    }

    /// A store of at most `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            state: Mutex::new(Entries::default()),
            capacity,
        }
    }

    /// Runs `f` on the entries, once there is room for one more (expired ones purged).
    fn with_room<T>(&self, f: impl FnOnce(&mut Entries) -> T) -> Result<T, StoreError> {
        let mut entries = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.purge(now());
            if entries.len() >= self.capacity {
                tracing::error!(
                    capacity = self.capacity,
                    "jwt-router: the in-memory session store is full"
                );
                return Err(StoreError::new("the in-memory session store is full"));
            }
        }
        Ok(f(&mut entries))
    }
}

impl Default for MemorySessions {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemorySessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessions")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// Keeps the later of two expiries.
fn extend(slot: &mut u64, until: u64) {
    *slot = (*slot).max(until);
}

impl SessionStore for MemorySessions {
    fn spend<'a>(&'a self, jti: &'a str, until: u64) -> StoreFuture<'a, Spend> {
        let spent = self.with_room(|entries| match entries.spent.get(jti) {
            Some(_) => Spend::Again,
            None => {
                entries.spent.insert(jti.to_owned(), until);
                Spend::First
            }
        });
        Box::pin(std::future::ready(spent))
    }

    fn revoke<'a>(&'a self, revocation: Revocation<'a>) -> StoreFuture<'a, ()> {
        let done = self.with_room(|entries| match revocation {
            Revocation::Token { jti, until } => {
                extend(entries.tokens.entry(jti.to_owned()).or_default(), until);
            }
            Revocation::Family { family, until } => {
                extend(
                    entries.families.entry(family.to_owned()).or_default(),
                    until,
                );
            }
            Revocation::Entity {
                table,
                sub,
                before_us,
                until,
            } => {
                let entry = entries
                    .entities
                    .entry(table.to_owned())
                    .or_default()
                    .entry(sub.to_owned())
                    .or_default();
                entry.0 = entry.0.max(before_us);
                extend(&mut entry.1, until);
            }
        });
        Box::pin(std::future::ready(done))
    }

    fn is_revoked<'a>(&'a self, token: Presented<'a>) -> StoreFuture<'a, bool> {
        let entries = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let revoked = token
            .jti
            .is_some_and(|jti| entries.tokens.contains_key(jti))
            || token
                .family
                .is_some_and(|family| entries.families.contains_key(family))
            || entries
                .entities
                .get(token.table)
                .and_then(|subs| subs.get(token.sub))
                .is_some_and(|(before_us, _)| token.issued_us <= *before_us);
        Box::pin(std::future::ready(Ok(revoked)))
    }

    fn attempt<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Attempts> {
        let now = Instant::now();
        let counted = self.with_room(|entries| {
            let (count, closes) = entries
                .attempts
                .entry(key.to_owned())
                .or_insert((0, now + window));
            if *closes <= now {
                (*count, *closes) = (0, now + window);
            }
            *count += 1;
            Attempts {
                count: *count,
                resets_in: *closes - now,
            }
        });
        Box::pin(std::future::ready(counted))
    }

    fn forgive<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let mut entries = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((count, _)) = entries.attempts.get_mut(key) {
            *count = count.saturating_sub(1);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presented<'a>(jti: &'a str, family: &'a str, issued_us: u64) -> Presented<'a> {
        Presented {
            jti: Some(jti),
            family: Some(family),
            table: "users",
            sub: "1",
            issued_us,
        }
    }

    async fn revoked(store: &MemorySessions, token: Presented<'_>) -> bool {
        store.is_revoked(token).await.expect("answers")
    }

    #[tokio::test]
    async fn each_revocation_applies_to_what_it_names() {
        let store = MemorySessions::new();
        let far = now() + 60;
        assert!(!revoked(&store, presented("a", "f", 10)).await);
        let revoke = |revocation| store.revoke(revocation);
        revoke(Revocation::Token {
            jti: "a",
            until: far,
        })
        .await
        .expect("stored");
        assert!(revoked(&store, presented("a", "g", 10)).await);
        assert!(!revoked(&store, presented("b", "g", 10)).await);
        revoke(Revocation::Family {
            family: "g",
            until: far,
        })
        .await
        .expect("stored");
        assert!(revoked(&store, presented("b", "g", 10)).await);
        assert!(!revoked(&store, presented("b", "h", 10)).await);
        let everywhere = Revocation::Entity {
            table: "users",
            sub: "1",
            before_us: 10,
            until: far,
        };
        revoke(everywhere).await.expect("stored");
        assert!(revoked(&store, presented("b", "h", 10)).await);
        assert!(
            !revoked(&store, presented("b", "h", 11)).await,
            "issued after"
        );
        let other = Presented {
            table: "teachers",
            ..presented("b", "h", 10)
        };
        assert!(!revoked(&store, other).await);
    }

    #[tokio::test]
    async fn a_refresh_token_is_spent_once() {
        let store = MemorySessions::new();
        let spend = |jti| store.spend(jti, now() + 60);
        assert!(matches!(spend("r").await, Ok(Spend::First)));
        assert!(matches!(spend("r").await, Ok(Spend::Again)));
        assert!(matches!(spend("s").await, Ok(Spend::First)));
    }

    #[tokio::test]
    async fn a_full_store_refuses_rather_than_forgets_and_frees_expired_entries() {
        let store = MemorySessions::with_capacity(2);
        let far = now() + 60;
        store
            .revoke(Revocation::Token {
                jti: "a",
                until: far,
            })
            .await
            .expect("room");
        store
            .revoke(Revocation::Token {
                jti: "b",
                until: now() - 1,
            })
            .await
            .expect("room");
        // Full: the expired entry makes room, the live one stays.
        store
            .revoke(Revocation::Token {
                jti: "c",
                until: far,
            })
            .await
            .expect("room after the purge");
        assert!(store.spend("d", far).await.is_err(), "full of live entries");
        assert!(revoked(&store, presented("a", "f", 1)).await);
        assert!(revoked(&store, presented("c", "f", 1)).await);
    }
}
