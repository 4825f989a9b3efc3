//! Login throttling: after `max_failures` failed logins for one account (table and email) in a
//! window, every attempt for it is a 429 until the window ends, right password or not.
//!
//! A fixed window per key, and only failures count, so no rate-limiting crate fits: governor
//! and tower-governor are token buckets (GCRA) that count every request and let one through
//! again per refill interval, not once the window ends.

use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::error::ApiError;

/// How many failed logins an account may have, and in how long.
#[derive(Clone, Debug)]
pub(crate) struct LoginLimits {
    pub(crate) max_failures: u32,
    pub(crate) window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Whether an attempt may go on.
#[derive(Debug, PartialEq)]
pub(crate) enum Attempt {
    Allowed,
    /// The key's window is spent; it ends in this long.
    Throttled(Duration),
}

/// What a store's operations return: boxed, so the store can be chosen at startup (`dyn`).
pub(crate) type StoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, super::Error>> + Send + 'a>>;

/// Counts attempts per key in fixed windows of [`LoginLimits`]. Counting comes before the
/// password check, atomically, so concurrent guesses can't all pass a check made before any is
/// counted; an attempt that turns out not to be a failure is then forgiven. A shared store maps
/// to INCR (and EXPIRE on the first), TTL and DECR in Redis.
pub(crate) trait AttemptStore: Send + Sync {
    /// Counts an attempt for `key`, opening a window if none is open, and says whether the
    /// window still allows it.
    fn attempt<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Attempt>;

    /// Takes back an attempt of `key`'s window that was not a failure.
    fn forgive<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
}

/// The app's throttle: the store, and what a login does with it.
#[derive(Clone)]
pub(crate) struct LoginThrottle(Arc<dyn AttemptStore>);

impl LoginThrottle {
    /// Counts in this process's memory.
    pub(crate) fn in_memory(limits: LoginLimits) -> Self {
        Self(Arc::new(InMemoryAttempts::new(limits, MAX_KEYS)))
    }

    /// Runs `login` for `table`'s account `email` unless the account is throttled (429, with
    /// `Retry-After`). `login` answers `None` when the credentials don't match: a failure, and
    /// a 401; anything else it answers (a token, a disabled account) is not a failure.
    pub(crate) async fn login<T>(
        &self,
        table: &str,
        email: &str,
        login: impl Future<Output = Result<Option<T>, ApiError>>,
    ) -> Result<T, ApiError> {
        let key = format!("{table}:{email}");
        let attempt = self.0.attempt(&key).await.map_err(|err| {
            tracing::warn!(error = %err, "login throttle store unavailable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "throttle_unavailable",
                "logins are unavailable, try again",
            )
        })?;
        if let Attempt::Throttled(retry_after) = attempt {
            tracing::info!(table, "login throttled");
            return Err(ApiError::too_many_requests(retry_after));
        }
        let outcome = login.await;
        if !matches!(outcome, Ok(None)) {
            // The login is answered anyway; the store only counts one attempt too many.
            if let Err(err) = self.0.forgive(&key).await {
                tracing::warn!(error = %err, "login throttle store unavailable");
            }
        }
        outcome?.ok_or_else(ApiError::wrong_credentials)
    }
}

#[cfg(feature = "redis")]
impl LoginThrottle {
    /// Counts in the session store (Redis), so every replica that shares it counts together.
    pub(crate) fn shared(store: Arc<dyn jwt_router::SessionStore>, limits: LoginLimits) -> Self {
        Self(Arc::new(SharedAttempts { store, limits }))
    }
}

/// Windows in the app's session store, one key per account.
#[cfg(feature = "redis")]
struct SharedAttempts {
    store: Arc<dyn jwt_router::SessionStore>,
    limits: LoginLimits,
}

#[cfg(feature = "redis")]
impl AttemptStore for SharedAttempts {
    fn attempt<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Attempt> {
        Box::pin(async move {
            let attempts = self.store.attempt(key, self.limits.window).await?;
            Ok(if attempts.count > u64::from(self.limits.max_failures) {
                Attempt::Throttled(attempts.resets_in)
            } else {
                Attempt::Allowed
            })
        })
    }

    fn forgive<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move { Ok(self.store.forgive(key).await?) })
    }
}

/// Keys the in-memory store tracks at most, about 4 MiB: 8-byte key hashes (whatever an
/// email's length) and 24-byte windows, in a table of at most 2^17 buckets.
const MAX_KEYS: usize = 100_000;

/// Windows in a map, bounded: an expired window is dropped when the map is full, and if none
/// has expired, the one with the fewest attempts (the oldest of those). Spraying random emails
/// so evicts one-attempt windows, not the account under attack, whose count is high.
struct InMemoryAttempts {
    limits: LoginLimits,
    max_keys: usize,
    /// Keys are hashed with a random key, so the map's size doesn't depend on the emails'.
    hasher: std::hash::RandomState,
    windows: Mutex<HashMap<u64, Window>>,
}

struct Window {
    opened: Instant,
    attempts: u32,
}

impl InMemoryAttempts {
    fn new(limits: LoginLimits, max_keys: usize) -> Self {
        Self {
            limits,
            max_keys,
            hasher: std::hash::RandomState::new(),
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn count(&self, key: &str, now: Instant) -> Attempt {
        let id = self.hasher.hash_one(key);
        // A panic elsewhere can't leave a window half-updated: every update is one store.
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if !windows.contains_key(&id) && windows.len() >= self.max_keys {
            self.make_room(&mut windows, now);
        }
        let window = windows.entry(id).or_insert(Window {
            opened: now,
            attempts: 0,
        });
        let ends = window.opened + self.limits.window;
        if now >= ends {
            *window = Window {
                opened: now,
                attempts: 0,
            };
        }
        window.attempts = window.attempts.saturating_add(1);
        if window.attempts > self.limits.max_failures {
            Attempt::Throttled(window.opened + self.limits.window - now)
        } else {
            Attempt::Allowed
        }
    }

    fn make_room(&self, windows: &mut HashMap<u64, Window>, now: Instant) {
        windows.retain(|_, window| now < window.opened + self.limits.window);
        if windows.len() < self.max_keys {
            return;
        }
        let least = windows
            .iter()
            .min_by_key(|(_, window)| (window.attempts, window.opened))
            .map(|(id, _)| *id);
        if let Some(id) = least {
            windows.remove(&id);
        }
    }
}

impl AttemptStore for InMemoryAttempts {
    fn attempt<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Attempt> {
        let attempt = self.count(key, Instant::now());
        Box::pin(async move { Ok(attempt) })
    }

    fn forgive<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let id = self.hasher.hash_one(key);
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(window) = windows.get_mut(&id) {
            window.attempts = window.attempts.saturating_sub(1);
        }
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_failures: u32, max_keys: usize) -> InMemoryAttempts {
        let limits = LoginLimits {
            max_failures,
            window: Duration::from_secs(60),
        };
        InMemoryAttempts::new(limits, max_keys)
    }

    #[test]
    fn a_key_is_throttled_past_its_failures_until_its_window_ends() {
        let store = store(2, 10);
        let start = Instant::now();
        assert_eq!(store.count("a", start), Attempt::Allowed);
        assert_eq!(store.count("a", start), Attempt::Allowed);
        let later = start + Duration::from_secs(20);
        assert_eq!(
            store.count("a", later),
            Attempt::Throttled(Duration::from_secs(40))
        );
        assert_eq!(store.count("b", later), Attempt::Allowed);
        assert_eq!(
            store.count("a", start + Duration::from_secs(60)),
            Attempt::Allowed
        );
    }

    #[tokio::test]
    async fn a_forgiven_attempt_does_not_count() {
        let store = store(1, 10);
        for _ in 0..3 {
            assert_eq!(store.attempt("a").await.ok(), Some(Attempt::Allowed));
            store.forgive("a").await.expect("forgiven");
        }
        assert_eq!(store.attempt("a").await.ok(), Some(Attempt::Allowed));
        assert!(matches!(
            store.attempt("a").await,
            Ok(Attempt::Throttled(_))
        ));
    }

    #[test]
    fn a_full_map_evicts_expired_windows_then_the_least_counted() {
        let store = store(3, 3);
        let start = Instant::now();
        for _ in 0..4 {
            store.count("attacked", start);
        }
        store.count("old", start);
        let later = start + Duration::from_secs(61);
        for _ in 0..4 {
            store.count("attacked", later);
        }
        for n in 0..100 {
            store.count(&format!("sprayed-{n}"), later);
        }
        let windows = store.windows.lock().expect("not poisoned").len();
        assert_eq!(windows, 3);
        assert!(matches!(
            store.count("attacked", later),
            Attempt::Throttled(_)
        ));
    }
}
