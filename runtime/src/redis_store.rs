//! [`RedisSessions`]: the session store in Redis (feature `redis`), so every replica of an app
//! sees every refresh and revocation at once.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Value};
use tokio::task::AbortHandle;

use crate::entity::StoreError;
use crate::sessions::{Attempts, Presented, Revocation, SessionStore, Spend, StoreFuture};
use crate::token::now;

/// Records a revocation: keeps the larger value (an entity's "issued before" instant) and the
/// later expiry of the two, so revocations only ever widen. Then tells every replica's
/// "not revoked" cache, on channel ARGV[3], in the same step.
const REVOKE: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
local ttl = redis.call('TTL', KEYS[1])
local at = tonumber(ARGV[2])
if ttl < 0 or tonumber(redis.call('TIME')[1]) + ttl < at then
  redis.call('EXPIREAT', KEYS[1], at)
end
redis.call('PUBLISH', ARGV[3], '')
";

/// Counts an attempt in a fixed window: the window opens (expires after ARGV[1] ms) with the
/// key's first attempt. Answers the count and the milliseconds left.
const ATTEMPT: &str = r"
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
";

/// Takes back an attempt of an open window, never below zero.
const FORGIVE: &str = r"
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
";

/// Refresh families and revocations in Redis. Every operation is one round trip: spending a
/// refresh token is one `SET NX` (of concurrent spends, Redis lets one through), the guard's
/// check one `MGET` of the token's, its family's and its entity's keys, a revocation one
/// script. Keys expire with the tokens they concern.
///
/// The connection is multiplexed and reconnects by itself; a command that gets no answer
/// within the response timeout (default 1 s) fails, and jwt-router then refuses with 503
/// `store_unavailable` rather than wait or admit.
///
/// ```no_run
/// # extern crate jwt_router_runtime as jwt_router;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use jwt_router::{JwtRoutes, RedisSessions};
///
/// let sessions = RedisSessions::connect("redis://127.0.0.1:6379").await?;
/// let jwt = JwtRoutes::<()>::builder()
///     .secret(std::env::var("SECRET_KEY")?)
///     .sessions(sessions)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisSessions {
    client: Client,
    connection: ConnectionManager,
    prefix: String,
    /// "Not revoked" answers kept this long, when opted in.
    cache: Option<Arc<NotRevoked>>,
}

/// Recent "not revoked" answers, by a keyed hash of what was asked, and when they came; used
/// only while subscribed to the revocations channel, and emptied by each message on it.
struct NotRevoked {
    bound: Duration,
    hasher: RandomState,
    state: Mutex<CacheState>,
    /// The task that listens on the channel, started by the first check (it needs a runtime)
    /// and stopped with the last clone of the store.
    listener: OnceLock<AbortHandle>,
}

struct CacheState {
    /// Bumped by every revocation heard of: an answer asked for before one is not kept.
    generation: u64,
    /// Whether every revocation from now on will be heard of.
    subscribed: bool,
    answers: HashMap<u64, Instant>,
}

/// At most this many cached answers; when full, the cache starts over (a miss costs a round
/// trip, never a wrong answer).
const MAX_CACHED: usize = 100_000;

/// How long the listener waits before subscribing again after losing its connection.
const RESUBSCRIBE_AFTER: Duration = Duration::from_millis(200);

impl NotRevoked {
    fn state(&self) -> MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn key(&self, token: &Presented<'_>) -> u64 {
        self.hasher.hash_one((
            token.jti,
            token.family,
            token.table,
            token.sub,
            token.issued_us,
        ))
    }

    fn fresh(&self, key: u64) -> bool {
        let state = self.state();
        state.subscribed
            && state
                .answers
                .get(&key)
                .is_some_and(|at| at.elapsed() < self.bound)
    }

    /// The generation to ask Redis under, or `None` when an answer can't be kept.
    fn generation(&self) -> Option<u64> {
        let state = self.state();
        state.subscribed.then_some(state.generation)
    }

    /// Keeps a "not revoked" answer asked for under `generation`, unless a revocation was heard
    /// of since (or the subscription dropped).
    fn remember(&self, key: u64, generation: u64) {
        let mut state = self.state();
        if !state.subscribed || state.generation != generation {
            return;
        }
        if state.answers.len() >= MAX_CACHED {
            state.answers.clear();
        }
        state.answers.insert(key, Instant::now());
    }

    /// A revocation was made or heard of; with `subscribed`, the channel came up or went down.
    fn forget_all(&self, subscribed: Option<bool>) {
        let mut state = self.state();
        state.generation += 1;
        state.answers.clear();
        if let Some(subscribed) = subscribed {
            state.subscribed = subscribed;
        }
    }

    /// Starts the listener, once, on the runtime of the first check (outside one, the cache
    /// stays unused).
    fn listen(self: &Arc<Self>, client: &Client, channel: impl FnOnce() -> String) {
        if self.listener.get().is_some() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.listener.get_or_init(|| {
                let task = listen(Arc::downgrade(self), client.clone(), channel());
                runtime.spawn(task).abort_handle()
            });
        }
    }
}

impl Drop for NotRevoked {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.get() {
            listener.abort();
        }
    }
}

/// Subscribes to the revocations channel and empties the cache on each message, for as long as
/// the cache lives. While not subscribed (at first, or after the connection dropped, until it
/// is back), the cache answers nothing: every check is a round trip.
async fn listen(cache: Weak<NotRevoked>, client: Client, channel: String) {
    loop {
        if let Ok(mut pubsub) = client.get_async_pubsub().await
            && pubsub.subscribe(&channel).await.is_ok()
        {
            let Some(live) = cache.upgrade() else { return };
            live.forget_all(Some(true));
            drop(live);
            let mut messages = pubsub.into_on_message();
            while messages.next().await.is_some() {
                let Some(live) = cache.upgrade() else { return };
                live.forget_all(None);
            }
        }
        let Some(live) = cache.upgrade() else { return };
        live.forget_all(Some(false));
        drop(live);
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}

impl RedisSessions {
    /// Connects to the Redis at `url` (`redis://host:port/db`), with a 1 s response timeout.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_timeout(url, Duration::from_secs(1)).await
    }

    /// Connects with `timeout` as the bound on connecting and on each command.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(StoreError::new)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            // Reconnection runs in the background; a request never waits on it for long.
            .set_number_of_retries(2)
            .set_max_delay(200);
        let connection = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(StoreError::new)?;
        Ok(Self {
            client,
            connection,
            prefix: "jwt-router".to_owned(),
            cache: None,
        })
    }

    /// Keeps each "not revoked" answer for up to `bound`, so a token seen again costs no round
    /// trip, and empties the cache whenever any replica revokes anything: every revocation is
    /// published on the channel `{prefix}:revoked`, to which this store subscribes.
    ///
    /// A revocation made through this store is honoured here at once. One made on another
    /// replica is honoured here as soon as its message arrives: the script that records it
    /// publishes it in the same step, so Redis has sent it before the revoking replica hears
    /// back (a fraction of a millisecond on one network). `bound` is the backstop for a message
    /// that is late: no answer is older than it. While the subscription is down (at start, or
    /// when the connection drops, until it is back), nothing is answered from the cache.
    ///
    /// Off by default: without it every guarded request costs one round trip to Redis.
    pub fn cache_not_revoked(mut self, bound: Duration) -> Self {
        self.cache = (!bound.is_zero()).then(|| {
            Arc::new(NotRevoked {
                bound,
                hasher: RandomState::new(),
                state: Mutex::new(CacheState {
                    generation: 0,
                    subscribed: false,
                    answers: HashMap::new(),
                }),
                listener: OnceLock::new(),
            })
        });
        self
    }

    /// Names the keys `{prefix}:…` (default `jwt-router`), for apps that share a Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, kind: &str, parts: &[&str]) -> String {
        let mut key = format!("{}:{kind}", self.prefix);
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }
}

impl fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessions")
            .field("prefix", &self.prefix)
            .field(
                "cache_not_revoked",
                &self.cache.as_ref().map(|cache| cache.bound),
            )
            .finish_non_exhaustive()
    }
}

/// `EVAL script 1 key`: one of this store's scripts on its one key; arguments follow.
fn eval(script: &str, key: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(1).arg(key);
    cmd
}

/// An expiry Redis accepts: in the future, or the key would never be written.
fn expire_at(until: u64) -> u64 {
    until.max(now() + 1)
}

impl SessionStore for RedisSessions {
    fn spend<'a>(&'a self, jti: &'a str, until: u64) -> StoreFuture<'a, Spend> {
        let key = self.key("spent", &[jti]);
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let set: Value = redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("NX")
                .arg("EXAT")
                .arg(expire_at(until))
                .query_async(&mut connection)
                .await
                .map_err(StoreError::new)?;
            Ok(match set {
                Value::Nil => Spend::Again,
                _ => Spend::First,
            })
        })
    }

    fn revoke<'a>(&'a self, revocation: Revocation<'a>) -> StoreFuture<'a, ()> {
        let (key, value, until) = match revocation {
            Revocation::Token { jti, until } => (self.key("token", &[jti]), 0, until),
            Revocation::Family { family, until } => (self.key("family", &[family]), 0, until),
            Revocation::Entity {
                table,
                sub,
                before_us,
                until,
            } => (self.key("entity", &[table, sub]), before_us, until),
        };
        let channel = self.key("revoked", &[]);
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let revoked = eval(REVOKE, &key)
                .arg(value)
                .arg(expire_at(until))
                .arg(channel)
                .exec_async(&mut connection)
                .await
                .map_err(StoreError::new);
            // Also when it failed: the script may have run before the answer was lost.
            if let Some(cache) = &self.cache {
                cache.forget_all(None);
            }
            revoked
        })
    }

    fn is_revoked<'a>(&'a self, token: Presented<'a>) -> StoreFuture<'a, bool> {
        let cached = self.cache.as_ref().map(|cache| {
            cache.listen(&self.client, || self.key("revoked", &[]));
            (cache, cache.key(&token))
        });
        if let Some((cache, key)) = cached
            && cache.fresh(key)
        {
            return Box::pin(std::future::ready(Ok(false)));
        }
        let generation = cached.and_then(|(cache, _)| cache.generation());
        // One MGET: the entity's "issued before" instant, then the token's and the family's
        // markers when the token has them.
        let mut keys = vec![self.key("entity", &[token.table, token.sub])];
        keys.extend(token.jti.map(|jti| self.key("token", &[jti])));
        keys.extend(token.family.map(|family| self.key("family", &[family])));
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let values: Vec<Option<u64>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut connection)
                .await
                .map_err(StoreError::new)?;
            let (entity, marks) = values.split_first().unwrap_or((&None, &[]));
            let revoked = entity.is_some_and(|before_us| token.issued_us <= before_us)
                || marks.iter().any(Option::is_some);
            if let (false, Some((cache, key)), Some(generation)) = (revoked, cached, generation) {
                cache.remember(key, generation);
            }
            Ok(revoked)
        })
    }

    fn attempt<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Attempts> {
        let key = self.key("attempts", &[key]);
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
            let (count, left): (u64, u64) = eval(ATTEMPT, &key)
                .arg(window_ms)
                .query_async(&mut connection)
                .await
                .map_err(StoreError::new)?;
            Ok(Attempts {
                count,
                resets_in: Duration::from_millis(left),
            })
        })
    }

    fn forgive<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let key = self.key("attempts", &[key]);
        let mut connection = self.connection.clone();
        Box::pin(async move {
            eval(FORGIVE, &key)
                .exec_async(&mut connection)
                .await
                .map_err(StoreError::new)
        })
    }
}
